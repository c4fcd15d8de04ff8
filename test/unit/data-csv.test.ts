// CSV → Dataset: a header row, comma-separated cells (quoted fields, CRLF), a label column
// chosen by name whose distinct values (sorted) become classes, every other column numeric.
// Row numbers in messages count lines from 1 at the top of the file, the header being row 1.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../coordinator/run/datasets.js';
import { datasetFromCsv } from '../../shared/data/csv.js';
import { userError } from '../helpers/errors.js';

const NOTE = '(rows are counted from 1 at the top of the file, the header included)';

const dir = mkdtempSync(join(tmpdir(), 'gradwire-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = [
  'sepal_length,species,sepal_width',
  '5.1,setosa,3.5',
  '7.0,"versicolor",3.2',
  '6.3,virginica,3.3',
  '4.9,setosa,-3e-1',
  '',
].join('\r\n');

describe('datasetFromCsv', () => {
  it('reads a good file with string labels, CRLF line ends and a quoted cell', () => {
    const d = datasetFromCsv(GOOD, 'species', 'data.csv');
    expect(d.n).toBe(4);
    expect(d.features).toBe(2);
    expect(d.classes).toBe(3);
    expect(d.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    expect([...d.y]).toEqual([0, 1, 2, 0]);
    // features in column order, the label column removed
    const expected = [5.1, 3.5, 7.0, 3.2, 6.3, 3.3, 4.9, -0.3];
    expected.forEach((v, i) => expect(d.x[i]).toBeCloseTo(v, 6));
  });

  it('maps class names sorted, not in order of appearance', () => {
    const d = datasetFromCsv('a,label\n1,zebra\n2,ant\n3,mole\n4,ant\n', 'label', 'z.csv');
    expect(d.classNames).toEqual(['ant', 'mole', 'zebra']);
    expect([...d.y]).toEqual([2, 0, 1, 0]);
  });

  it('sorts numeric labels as numbers (2 before 10)', () => {
    const d = datasetFromCsv('a,label\n1,10\n2,2\n3,7\n', 'label', 'n.csv');
    expect(d.classNames).toEqual(['2', '7', '10']);
    expect([...d.y]).toEqual([2, 0, 1]);
  });

  it('accepts quoted fields holding commas, escaped quotes and line breaks', () => {
    const d = datasetFromCsv('x,"the ""label"""\n1,"a, b"\n2,"two\nlines"\n', 'the "label"', 'q.csv');
    expect(d.classNames).toEqual(['a, b', 'two\nlines']);
    expect([...d.x]).toEqual([1, 2]);
  });

  it('loads through loadDataset with data.path relative to baseDir', () => {
    writeFileSync(join(dir, 'iris.csv'), GOOD);
    const d = loadDataset(
      {
        name: 'csv',
        split: [0.5, 0.25, 0.25],
        path: 'iris.csv',
        labelColumn: 'species',
        samples: 0,
        classes: 0,
        noise: 0,
      },
      dir,
      1,
    );
    expect(d.n).toBe(4);
    expect(d.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
  });
});

describe('CSV errors', () => {
  it('a bad cell names the row as the user sees it, the column and the value', () => {
    const lines = ['sepal_length,sepal_width,species'];
    for (let i = 0; i < 5; i++) lines.push(`5.${i},3.${i},setosa`);
    lines.push('5.9,abc,setosa'); // line 7 of the file
    lines.push('6.0,3.0,setosa');
    const e = userError(() => datasetFromCsv(lines.join('\n'), 'species', 'data.csv'));
    expect(e.code).toBe('DATA_INVALID');
    expect(e.message).toBe(`data.csv: row 7, column "sepal_width": "abc" is not a number ${NOTE}`);
  });

  it('an empty numeric cell is not a number (not 0)', () => {
    expect(userError(() => datasetFromCsv('a,b,y\n1,,k\n', 'y', 'e.csv')).message).toBe(
      `e.csv: row 2, column "b": "" is not a number ${NOTE}`,
    );
  });

  it('a missing label column lists the columns present', () => {
    const e = userError(() => datasetFromCsv(GOOD, 'class', 'data.csv'));
    expect(e.code).toBe('DATA_INVALID');
    expect(e.message).toBe(
      'data.csv: label column "class" not found; the columns are: "sepal_length", "species", "sepal_width"',
    );
  });

  it('a ragged row names its row and both counts', () => {
    const text = 'a,b,y\r\n1,2,k\r\n\r\n3,k\r\n'; // the short row is line 4 (line 3 is blank)
    const e = userError(() => datasetFromCsv(text, 'y', 'r.csv'));
    expect(e.message).toBe(`r.csv: row 4 has 2 cells, but the header has 3 columns ${NOTE}`);
  });

  it('an empty file', () => {
    for (const text of ['', '\n\n', '\ufeff']) {
      expect(userError(() => datasetFromCsv(text, 'y', 'empty.csv')).message).toBe(
        'empty.csv: the file is empty; a header row naming the columns is required',
      );
    }
  });

  it('a header with no data rows', () => {
    expect(userError(() => datasetFromCsv('a,y\n', 'y', 'h.csv')).message).toBe(
      'h.csv: the header is followed by no data rows',
    );
  });

  it('an unclosed quote', () => {
    expect(userError(() => datasetFromCsv('a,y\n1,ok\n2,"open\n', 'y', 'u.csv')).message).toBe(
      `u.csv: row 3: a quoted field is never closed ${NOTE}`,
    );
  });
});
