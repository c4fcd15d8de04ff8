// CSV, pure: parsing CSV text into a Dataset, and formatting the CSV files gradwire writes
// (a run's epochs.csv and steps.csv, a sweep's trials). The format accepted:
//  - comma separated; a header row naming the columns is required;
//  - fields may be quoted with "..." ("" inside is a literal quote, and a quoted field may
//    contain commas and line breaks); lines end with LF or CRLF; a leading BOM is ignored;
//  - blank lines are skipped;
//  - the label column is chosen by name; its values may be strings or numbers. The distinct
//    values, sorted (numerically when all are numbers, else by code unit), become classes
//    0..k-1 and are kept as classNames;
//  - every other column is a feature and every cell in it must be a decimal number.
// Row numbers in messages are line numbers of the file as a user sees it in an editor:
// counting from 1 at the top, the header included (a record with a quoted line break is
// named by the line it starts on).
import { UserError } from '../errors.js';
import { validateDataset, type Dataset } from './dataset.js';

interface CsvRecord {
  cells: string[];
  /** 1-based line on which the record starts */
  line: number;
}

const ROW_NOTE = '(rows are counted from 1 at the top of the file, the header included)';

function invalid(fileName: string, problem: string): never {
  throw new UserError('DATA_INVALID', `${fileName}: ${problem}`);
}

/** Split CSV text into records of raw cells. Blank lines are dropped. */
export function parseCsvRecords(text: string, fileName: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let cells: string[] = [];
  let cell = '';
  let line = 1;
  let start = 1;
  let inQuotes = false;
  let quoteLine = 0;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = (): void => {
    cells.push(cell);
    if (!(cells.length === 1 && cells[0]!.trim() === '')) records.push({ cells, line: start });
    cells = [];
    cell = '';
  };
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
    } else if (ch === '"' && cell.trim() === '') {
      cell = '';
      inQuotes = true;
      quoteLine = line;
    } else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else {
      cell += ch;
    }
  }
  if (inQuotes) invalid(fileName, `row ${quoteLine}: a quoted field is never closed ${ROW_NOTE}`);
  if (cell !== '' || cells.length > 0) endRecord();
  return records;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A decimal number cell (surrounding spaces allowed), or null. Empty, NaN, Infinity, hex → null. */
function parseNumber(s: string): number | null {
  const t = s.trim();
  if (!NUMBER.test(t)) return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

export function datasetFromCsv(text: string, labelColumn: string, fileName: string): Dataset {
  const records = parseCsvRecords(text, fileName);
  if (records.length === 0) invalid(fileName, 'the file is empty; a header row naming the columns is required');
  const header = records[0]!;
  const columns = header.cells.map((c) => c.trim());
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c)) invalid(fileName, `the header names column "${c}" twice`);
    seen.add(c);
  }
  const labelIdx = columns.indexOf(labelColumn);
  if (labelIdx < 0) {
    invalid(
      fileName,
      `label column "${labelColumn}" not found; the columns are: ${columns.map((c) => `"${c}"`).join(', ')}`,
    );
  }
  if (columns.length < 2) invalid(fileName, `no feature columns: the only column is the label column "${labelColumn}"`);
  const rows = records.slice(1);
  if (rows.length === 0) invalid(fileName, 'the header is followed by no data rows');

  const n = rows.length;
  const features = columns.length - 1;
  const x = new Float32Array(n * features);
  const rawLabels: string[] = new Array<string>(n);
  rows.forEach((r, i) => {
    if (r.cells.length !== columns.length) {
      invalid(
        fileName,
        `row ${r.line} has ${r.cells.length} cells, but the header has ${columns.length} columns ${ROW_NOTE}`,
      );
    }
    let f = 0;
    for (let c = 0; c < columns.length; c++) {
      const cell = r.cells[c]!;
      if (c === labelIdx) {
        const label = cell.trim();
        if (label === '') invalid(fileName, `row ${r.line}, column "${labelColumn}": the label is empty ${ROW_NOTE}`);
        rawLabels[i] = label;
        continue;
      }
      const v = parseNumber(cell);
      if (v === null) {
        invalid(fileName, `row ${r.line}, column "${columns[c]}": ${JSON.stringify(cell)} is not a number ${ROW_NOTE}`);
      }
      x[i * features + f++] = v;
    }
  });

  // Labels: numeric when every label is a number (then "1" and "1.0" are one class), else strings.
  const numeric = rawLabels.every((l) => parseNumber(l) !== null);
  const key = (l: string): string => (numeric ? String(parseNumber(l)) : l);
  const distinct = [...new Set(rawLabels.map(key))];
  distinct.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(distinct.map((k, i) => [k, i]));
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = index.get(key(rawLabels[i]!))!;
  return validateDataset({
    name: fileName,
    n,
    features,
    classes: distinct.length,
    x,
    y,
    classNames: distinct,
  });
}

/** A cell of a CSV file gradwire writes: a number as String() prints it (NaN and ±Infinity
 *  left empty), anything else as text (null and undefined empty), quoted when it holds a quote,
 *  a comma or a line break. */
function csvCell(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = String(v ?? '');
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text of `rows`, one line each with the values of `columns`, every line ending in LF;
 *  without the header line (header false, to append to a file that has one) and no rows: ''. */
export function toCsv(rows: Array<Record<string, unknown>>, columns: string[], header = true): string {
  if (!header && rows.length === 0) return '';
  const lines = header ? [columns.join(',')] : [];
  for (const r of rows) lines.push(columns.map((c) => csvCell(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}
