// The rows `predict` and `evaluate` run on, read in chunks so that memory stays flat however
// large the input: a CSV file line by line (training's CSV parser for a record with quotes),
// an IDX images file by byte ranges (gzip: inflated as a stream), with an optional IDX labels
// file, or a split of the run's own dataset. The features are scaled as training's loaders
// scale them (CSV as written, IDX pixels ÷ 255). Every problem is one UserError sentence.
import { createReadStream, openSync, readSync, closeSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { rowInto, type Dataset } from '../../shared/data/dataset.js';
import { parseCsvRecords } from '../../shared/data/csv.js';
import { checkIdxHead } from '../../shared/data/idx.js';
import { UserError } from '../../shared/errors.js';
import { fsReason } from '../../shared/node/files.js';
import type { LoadedModel } from './model.js';

/** Rows per chunk read. Small on purpose: a chunk's buffers are fresh memory, and the first touch
 *  of a page costs ~16 µs on these machines (a page fault each): 1024 rows of 784 pixels as bytes
 *  and floats were 1,000 pages, ~15 ms of a 10,000-row predict; and a chunk's rows stay in cache
 *  (128 rows took ~5–10% less CPU time than 256 over the 10,000 digits; test/bench/predict.ts). */
export const CHUNK_ROWS = 128;

export interface Chunk {
  rows: number;
  /** class indices, when the input has labels */
  labels: Int32Array | null;
  /** an IDX file's pixels (rows × features bytes; the features are pixel / 255), else null: the
   *  sparse first layer reads them as they are (forward.ts) */
  pixels: Uint8Array | null;
  /** rows × features as float32 (IDX pixels are scaled on the first call), reused from one chunk
   *  to the next */
  features(): Float32Array;
}

export interface InputSource {
  /** what it is, for messages */
  name: string;
  hasLabels: boolean;
  /** rows in all, when known before reading them */
  total: number | null;
  chunks(): AsyncGenerator<Chunk>;
}

const ROW_NOTE = '(rows are counted from 1 at the top of the file, the header included)';
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function bad(name: string, problem: string): never {
  throw new UserError('DATA_INVALID', `${name}: ${problem}`);
}

/** a label's class index, or a sentence saying it is not one the model knows */
export function labelIndex(m: LoadedModel): (label: string) => number | undefined {
  const key = (l: string): string => (m.numericLabels && NUMBER.test(l.trim()) ? String(Number(l)) : l.trim());
  const index = new Map(m.classNames.map((c, i) => [key(c), i]));
  return (label) => index.get(key(label));
}

const known = (m: LoadedModel): string =>
  m.classNames.length <= 12 ? m.classNames.join(', ') : `${m.classNames.slice(0, 12).join(', ')}, …`;

/** Open a file for reading, or one sentence naming the flag */
function checkFile(flag: string, path: string): number {
  try {
    if (statSync(path).isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
    return openSync(path, 'r');
  } catch (e) {
    return bad(`${flag} ${path}`, `${fsReason((e as NodeJS.ErrnoException).code)}; give the path of a CSV or IDX file`);
  }
}

/** the path that means "read stdin" (--input -, --data -) */
export const STDIN = '-';

/** --input FILE: IDX when it starts with IDX's magic (or is gzip), else CSV; `-`: CSV on stdin */
export function openInput(
  m: LoadedModel,
  path: string,
  labelsPath: string | null,
  chunkRows = CHUNK_ROWS,
  stdin: NodeJS.ReadableStream = process.stdin,
): InputSource {
  if (path === STDIN) {
    if (labelsPath !== null)
      throw new UserError('USAGE', '--labels is for an IDX images file given by its path; stdin is read as CSV');
    return csvSource(m, 'stdin', chunkRows, () => stdin);
  }
  const fd = checkFile('--input', path);
  const head = Buffer.alloc(4);
  const got = readSync(fd, head, 0, 4, 0);
  closeSync(fd);
  const gzip = got >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  // IDX's magic starts with two zero bytes (its header check names a data type it does not take)
  if (gzip || (got >= 2 && head[0] === 0 && head[1] === 0)) return idxSource(m, path, labelsPath, gzip, chunkRows);
  if (labelsPath !== null)
    throw new UserError('USAGE', '--labels is for an IDX images file; a CSV file holds its labels in a column');
  return csvSource(m, path, chunkRows, () => createReadStream(path));
}

// ---- CSV --------------------------------------------------------------------------------------

function csvSource(m: LoadedModel, path: string, CHUNK_ROWS: number, open: () => NodeJS.ReadableStream): InputSource {
  const F = m.features;
  const toClass = labelIndex(m);
  const source: InputSource = {
    name: path,
    hasLabels: false,
    total: null,
    async *chunks() {
      const lines = createInterface({ input: open(), crlfDelay: Number.POSITIVE_INFINITY });
      let lineNo = 0;
      let columns: string[] | null = null;
      let labelAt = -1;
      const x = new Float32Array(CHUNK_ROWS * F);
      const labels = new Int32Array(CHUNK_ROWS);
      let rows = 0;
      let pending = '';
      let pendingLine = 0;
      for await (const raw of lines) {
        lineNo++;
        const line = lineNo === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
        let text = line;
        let start = lineNo;
        if (pending !== '') {
          text = `${pending}\n${line}`;
          start = pendingLine;
        }
        // a quoted field with a line break: the record goes on on the next line
        if ((text.split('"').length - 1) % 2 === 1) {
          if (pending === '') pendingLine = lineNo;
          pending = text;
          continue;
        }
        pending = '';
        if (text.trim() === '') continue;
        const cells = text.includes('"') ? (parseCsvRecords(text, path)[0]?.cells ?? ['']) : text.split(',');
        if (!columns) {
          // stdin is not sniffed before it is read: IDX or gzip bytes are told here
          if (text.charCodeAt(0) === 0 || text.charCodeAt(0) === 0x1f)
            bad(path, 'holds IDX or gzip bytes, not CSV; give an IDX file by its path (--input FILE)');
          columns = cells.map((c) => c.trim());
          labelAt = columns.indexOf(m.labelColumn);
          source.hasLabels = labelAt >= 0;
          const got = columns.length - (labelAt >= 0 ? 1 : 0);
          if (got !== F)
            bad(
              path,
              `the model takes ${F} features, but the header has ${got} feature column${got === 1 ? '' : 's'}` +
                (labelAt >= 0
                  ? ` besides the label column "${m.labelColumn}"`
                  : ` (and no label column "${m.labelColumn}")`) +
                (got <= 12 ? `: ${columns.filter((_, i) => i !== labelAt).join(', ')}` : ''),
            );
          continue;
        }
        if (cells.length !== columns.length)
          bad(path, `row ${start} has ${cells.length} cells, but the header has ${columns.length} columns ${ROW_NOTE}`);
        let f = rows * F;
        for (let c = 0; c < cells.length; c++) {
          const cell = cells[c]!;
          if (c === labelAt) {
            const k = toClass(cell);
            if (k === undefined)
              bad(
                path,
                cell.trim() === ''
                  ? `row ${start}, column "${m.labelColumn}": the label is empty ${ROW_NOTE}`
                  : `row ${start}, column "${m.labelColumn}": label ${JSON.stringify(cell.trim())} is not a class the model knows (${known(m)}) ${ROW_NOTE}`,
              );
            labels[rows] = k;
            continue;
          }
          const t = cell.trim();
          const v = NUMBER.test(t) ? Number(t) : Number.NaN;
          if (!Number.isFinite(v))
            bad(
              path,
              `row ${start}, column "${columns[c]}": ${t === '' ? 'the cell is empty' : `${JSON.stringify(cell)} is not a number`} ${ROW_NOTE}`,
            );
          x[f++] = v;
        }
        if (++rows === CHUNK_ROWS) {
          yield { rows, labels: labelAt >= 0 ? labels : null, pixels: null, features: () => x };
          rows = 0;
        }
      }
      if (pending !== '') bad(path, `row ${pendingLine}: a quoted field is never closed ${ROW_NOTE}`);
      if (!columns) bad(path, 'the file is empty; a header row naming the columns is required');
      if (rows > 0) yield { rows, labels: labelAt >= 0 ? labels : null, pixels: null, features: () => x };
    },
  };
  return source;
}

// ---- IDX --------------------------------------------------------------------------------------

/** reads a file's bytes in order: by byte ranges, or inflated from gzip */
interface ByteReader {
  /** exactly n bytes into buf, or the number read before the end */
  read(buf: Uint8Array, n: number): Promise<number>;
  close(): void;
}

function rawReader(path: string): ByteReader {
  const fd = openSync(path, 'r');
  let pos = 0;
  return {
    async read(buf, n) {
      let got = 0;
      while (got < n) {
        const k = readSync(fd, buf, got, n - got, pos);
        if (k === 0) break;
        got += k;
        pos += k;
      }
      return got;
    },
    close: () => closeSync(fd),
  };
}

function gzipReader(path: string): ByteReader {
  const stream = createReadStream(path).pipe(createGunzip());
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let left: Buffer = Buffer.alloc(0);
  return {
    async read(buf, n) {
      let got = 0;
      while (got < n) {
        if (left.length === 0) {
          let r: IteratorResult<Buffer>;
          try {
            r = await it.next();
          } catch (e) {
            return bad(path, `starts like a gzip file but cannot be decompressed: ${(e as Error).message}`);
          }
          if (r.done) break;
          left = r.value;
          continue;
        }
        const k = Math.min(n - got, left.length);
        buf.set(left.subarray(0, k), got);
        left = left.subarray(k);
        got += k;
      }
      return got;
    },
    close: () => stream.destroy(),
  };
}

async function idxHeader(r: ByteReader, name: string): Promise<number[]> {
  const head = new Uint8Array(4);
  if ((await r.read(head, 4)) < 4) bad(name, 'truncated: an IDX header needs at least 4 bytes');
  const nd = checkIdxHead(head, name);
  const dims = new Uint8Array(4 * nd);
  if ((await r.read(dims, 4 * nd)) < 4 * nd) bad(name, `truncated: header declares ${nd} dimensions`);
  const view = new DataView(dims.buffer);
  return Array.from({ length: nd }, (_, i) => view.getUint32(4 * i, false));
}

function idxSource(
  m: LoadedModel,
  path: string,
  labelsPath: string | null,
  gzip: boolean,
  CHUNK_ROWS: number,
): InputSource {
  const F = m.features;
  const k = m.model.k;
  let buffers: { bytes: Uint8Array; x: Float32Array | null } | undefined;
  let labelsGzip = false;
  if (labelsPath !== null) {
    const fd = checkFile('--labels', labelsPath);
    const h = Buffer.alloc(2);
    labelsGzip = readSync(fd, h, 0, 2, 0) === 2 && h[0] === 0x1f && h[1] === 0x8b;
    closeSync(fd);
  }
  const source: InputSource = {
    name: path,
    hasLabels: labelsPath !== null,
    total: null,
    async *chunks() {
      const img = gzip ? gzipReader(path) : rawReader(path);
      const lab = labelsPath === null ? null : labelsGzip ? gzipReader(labelsPath) : rawReader(labelsPath);
      try {
        const dims = await idxHeader(img, path);
        if (dims.length < 2)
          bad(path, `an images file needs at least 2 dimensions (samples × features), header has ${dims.length}`);
        const n = dims[0]!;
        const got = dims.slice(1).reduce((a, b) => a * b, 1);
        if (got !== F)
          bad(path, `the model takes ${F} features, but its images have ${got} pixels (${dims.slice(1).join('×')})`);
        if (!gzip) {
          const size = statSync(path).size;
          const want = 4 + 4 * dims.length + n * F;
          if (size < want)
            bad(
              path,
              `truncated: header says ${dims.join('×')} = ${n * F} bytes of data, file has ${size - (4 + 4 * dims.length)}`,
            );
          if (size > want)
            bad(
              path,
              `header says ${dims.join('×')} bytes of data, but the file has ${size - want} extra bytes after them`,
            );
        }
        if (lab && labelsPath !== null) {
          const ld = await idxHeader(lab, labelsPath);
          if (ld.length > 2 || (ld.length === 2 && ld[1] !== 1))
            bad(labelsPath, `a labels file must have 1 dimension (one label per sample), header says ${ld.join('×')}`);
          if (ld[0] !== n) bad(labelsPath, `label count mismatch: ${ld[0]} labels for ${n} images in ${path}`);
        }
        source.total = n;
        // the pixels are read into the kernels' memory and scaled there only when the floats are
        // asked for (the sparse first layer reads the bytes; a fresh page costs ~16 µs here, a JS
        // loop over them runs cold for much of a short input); kept for the source's next pass
        buffers ??= { bytes: k.allocBytes(CHUNK_ROWS * F), x: null };
        const into = buffers;
        const bytes = into.bytes;
        const lb = new Uint8Array(CHUNK_ROWS);
        const labels = new Int32Array(CHUNK_ROWS);
        for (let done = 0; done < n; ) {
          const rows = Math.min(CHUNK_ROWS, n - done);
          if ((await img.read(bytes, rows * F)) < rows * F)
            bad(path, `truncated: the header says ${n} images, the data ends within image ${done + 1}`);
          if (lab && labelsPath !== null) {
            if ((await lab.read(lb, rows)) < rows) bad(labelsPath, `truncated: the data ends within label ${done + 1}`);
            for (let i = 0; i < rows; i++) {
              if (lb[i]! >= m.classes)
                bad(
                  labelsPath,
                  `sample ${done + i + 1} has label ${lb[i]}, not a class the model knows (0..${m.classes - 1})`,
                );
              labels[i] = lb[i]!;
            }
          }
          let scaled = false;
          yield {
            rows,
            labels: lab ? labels : null,
            pixels: bytes.subarray(0, rows * F),
            features() {
              into.x ??= k.alloc(CHUNK_ROWS * F);
              if (!scaled) k.unitBytes(bytes, into.x, rows * F);
              scaled = true;
              return into.x;
            },
          };
          done += rows;
        }
      } finally {
        img.close();
        lab?.close();
      }
    },
  };
  return source;
}

// ---- a split of a dataset -----------------------------------------------------------------------

export function datasetSource(name: string, data: Dataset, indices: Int32Array, CHUNK_ROWS = 1024): InputSource {
  const F = data.features;
  return {
    name,
    hasLabels: true,
    total: indices.length,
    async *chunks() {
      const x = new Float32Array(CHUNK_ROWS * F);
      const labels = new Int32Array(CHUNK_ROWS);
      for (let s = 0; s < indices.length; s += CHUNK_ROWS) {
        const rows = Math.min(CHUNK_ROWS, indices.length - s);
        for (let i = 0; i < rows; i++) {
          rowInto(data, indices[s + i]!, x, i * F);
          labels[i] = data.y[indices[s + i]!]!;
        }
        yield { rows, labels, pixels: null, features: () => x };
      }
    },
  };
}
