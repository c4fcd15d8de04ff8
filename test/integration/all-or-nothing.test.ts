// Nothing written half: predict's stdout holds every row or none (the rows spool to an unlinked
// file in TMPDIR until the whole input was read), an --out file appears whole by a rename or not
// at all (an existing one is left as it was), export makes a missing folder and replaces its
// file by a rename; stdin (--input -, --data -) is read like a file.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, linkSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, NODE_ARGS, ROOT, gradwire, tempDir } from '../helpers/cli.js';
import { digitsIdx, digitsRun, idxFile } from '../helpers/digits.js';

const IRIS = join(ROOT, 'deploy/k8s/examples/datasets-configmap/iris.csv');
const H = 'sepal_length,sepal_width,petal_length,petal_width';
const N = 20_000;

let dir: string;
let tmp: string;
/** N good rows (≈ 1.5 MB of predictions: far more than a pipe holds) */
let good: string;

const spools = (): string[] => readdirSync(tmp).filter((f) => f.startsWith('gradwire-'));

/** the CLI started in cwd (TMPDIR: tmp), its stderr as it comes, and its exit */
function started(args: string[], cwd: string) {
  const child = spawn(process.execPath, [...NODE_ARGS, CLI, ...args], { cwd, env: { ...process.env, TMPDIR: tmp } });
  const err: string[] = [];
  child.stderr.on('data', (b: Buffer) => err.push(b.toString()));
  return { child, stderr: (): string => err.join(''), exited: once(child, 'exit') };
}

async function run(args: string[], input?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return await gradwire(args, { cwd: dir, env: { TMPDIR: tmp }, ...(input !== undefined ? { input } : {}) });
}

beforeAll(async () => {
  dir = tempDir('gradwire-aon-');
  tmp = tempDir('gradwire-aon-tmp-');
  copyFileSync(IRIS, join(dir, 'iris.csv'));
  writeFileSync(
    join(dir, 'run.yaml'),
    'seed: 0\ndata: { name: csv, path: iris.csv, labelColumn: species }\nmodel: { hidden: [8] }\nbatchSize: 16\nepochs: 2\n',
  );
  const t = await run(['train', '--config', 'run.yaml', '--in-process', '--out', 'run', '--log-format', 'json']);
  expect(t.status, t.stderr).toBe(0);
  const rows = Array.from(
    { length: N },
    (_, i) => `${(4 + (i % 40) / 10).toFixed(1)},3.0,${(1 + (i % 60) / 10).toFixed(1)},0.${i % 10}`,
  );
  good = `${H}\n${rows.join('\n')}\n`;
  writeFileSync(join(dir, 'good.csv'), good);
  writeFileSync(join(dir, 'bad-at-end.csv'), `${good}5.1,3.5,oops,0.2\n`);
});

describe('predict to stdout: every row or nothing', () => {
  it('a bad row after 20,000 good ones: empty stdout, one line on stderr naming it, exit 2, no spool left', async () => {
    for (const format of ['csv', 'json']) {
      const r = await run(['predict', '--model', 'run', '--input', 'bad-at-end.csv', '--format', format]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`row ${N + 2}, column "petal_length": "oops" is not a number`));
    }
    // the same on stdin
    const s = await run(['predict', '--model', 'run', '--input', '-'], `${good}5.1,3.5,1.4\n`);
    expect(s.status).toBe(2);
    expect(s.stdout).toBe('');
    expect(s.stderr).toMatch(new RegExp(`^gradwire: error: stdin: row ${N + 2} has 3 cells, but the header has 4`));
    expect(spools()).toEqual([]);
  });

  it('a good input: stdout is byte for byte the --out file, from a file or from stdin; no spool left', async () => {
    const a = await run(['predict', '--model', 'run', '--input', 'good.csv']);
    expect(a.status, a.stderr).toBe(0);
    const b = await run(['predict', '--model', 'run', '--input', 'good.csv', '--out', 'good.out.csv']);
    expect(b.status, b.stderr).toBe(0);
    const c = await run(['predict', '--model', 'run', '--input', '-'], good);
    expect(c.status, c.stderr).toBe(0);
    const file = readFileSync(join(dir, 'good.out.csv'), 'utf8');
    expect(file.split('\n').length).toBe(N + 2);
    expect(a.stdout === file).toBe(true);
    expect(c.stdout === file).toBe(true);
    expect(spools()).toEqual([]);
  });

  it('a reader slower than the copy to stdout: every byte, and no warning on stderr', async () => {
    // 100,000 digits: 17 MB of output, the pipe full hundreds of times
    const d = tempDir('gradwire-aon-slow-');
    const { pixels } = digitsRun(d);
    writeFileSync(join(d, 'digits.idx'), digitsIdx(pixels, 10));
    const { child, stderr, exited } = started(['predict', '--model', 'run', '--input', 'digits.idx'], d);
    const ended = once(child.stdout, 'end');
    const chunks: Buffer[] = [];
    // read a chunk, then wait a little
    child.stdout.on('data', (b: Buffer) => {
      chunks.push(b);
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 1);
    });
    const [[code]] = await Promise.all([exited, ended]);
    expect(code, stderr()).toBe(0);
    const out = Buffer.concat(chunks).toString();
    expect(out.split('\n').length).toBe(100_000 + 2);
    expect(stderr()).not.toMatch(/Warning/);
  });

  it('a TMPDIR where the spool cannot go: one line that says so and what to do, exit 2, empty stdout', async () => {
    const r = await gradwire(['predict', '--model', 'run', '--input', 'good.csv'], {
      cwd: dir,
      env: { TMPDIR: join(dir, 'iris.csv') },
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /temporary copy in .*iris\.csv \(a part of the path is a file, not a folder\).*TMPDIR.*--out FILE/,
    );
  });
});

describe('--out files: whole, by a rename, or untouched', () => {
  it('a bad row at the end: a new --out file is not created, an existing one keeps its bytes', async () => {
    const r = await run(['predict', '--model', 'run', '--input', 'bad-at-end.csv', '--out', 'new/none.csv']);
    expect(r.status).toBe(2);
    expect(readdirSync(dir)).not.toContain('new');
    writeFileSync(join(dir, 'old.csv'), 'yesterday\n');
    const e = await run(['predict', '--model', 'run', '--input', 'bad-at-end.csv', '--out', 'old.csv']);
    expect(e.status).toBe(2);
    expect(e.stderr.trim().split('\n')).toHaveLength(1);
    expect(readFileSync(join(dir, 'old.csv'), 'utf8')).toBe('yesterday\n');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('predict and export replace an existing file by a rename: a hard link to the old file keeps the old bytes', async () => {
    for (const [name, args] of [
      ['p.csv', ['predict', '--model', 'run', '--input', 'good.csv', '--out', 'p.csv']],
      ['m.onnx', ['export', '--model', 'run', '--format', 'onnx', '--out', 'm.onnx']],
    ] as const) {
      writeFileSync(join(dir, name), 'old bytes\n');
      linkSync(join(dir, name), join(dir, `${name}.link`));
      const before = statSync(join(dir, name)).ino;
      const r = await run([...args]);
      expect(r.status, r.stderr).toBe(0);
      // written in place, the link would show the new bytes too
      expect(readFileSync(join(dir, `${name}.link`), 'utf8')).toBe('old bytes\n');
      expect(statSync(join(dir, name)).ino).not.toBe(before);
      expect(readFileSync(join(dir, name)).length).toBeGreaterThan(100);
    }
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('export --out into folders that do not exist yet makes them', async () => {
    const r = await run(['export', '--model', 'run', '--format', 'onnx', '--out', 'a/b/c/model.onnx']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(dir, 'a/b/c/model.onnx'));
    expect(readFileSync(join(dir, 'a/b/c/model.onnx')).equals(readFileSync(join(dir, 'run/model.onnx')))).toBe(true);
  });
});

describe('a signal before the end of the input', () => {
  it('SIGTERM while reading stdin into --out: exit 143, one line, no --out file, no temporary file, no folder made', async () => {
    const { child, stderr, exited } = started(['predict', '--model', 'run', '--input', '-', '--out', 'sig/o.csv'], dir);
    // the input never ends: the header and some rows, the pipe left open
    child.stdin.write(good.slice(0, 50_000));
    const tmpFile = (): boolean =>
      existsSync(join(dir, 'sig')) && readdirSync(join(dir, 'sig')).some((f) => f.startsWith('o.csv.tmp-'));
    for (let i = 0; i < 600 && !tmpFile(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(tmpFile()).toBe(true);
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(143);
    expect(stderr().trim().split('\n')).toEqual([
      'gradwire: stopped by SIGTERM before the end of the input; nothing written',
    ]);
    expect(existsSync(join(dir, 'sig'))).toBe(false);
  });
});

describe('evaluate --data - reads a labelled CSV from stdin', () => {
  it('the same numbers as the file', async () => {
    const f = await run(['evaluate', '--model', 'run', '--data', 'iris.csv', '--json']);
    const s = await run(['evaluate', '--model', 'run', '--data', '-', '--json'], readFileSync(IRIS, 'utf8'));
    expect(f.status, f.stderr).toBe(0);
    expect(s.status, s.stderr).toBe(0);
    const { data: _f, ...fromFile } = JSON.parse(f.stdout);
    const { data: name, ...fromStdin } = JSON.parse(s.stdout);
    expect(name).toBe('stdin');
    expect(fromStdin).toEqual(fromFile);
  });
});

describe('bad IDX input (issue 17 item 5): one line naming the file and the problem, exit 2, empty stdout', () => {
  const cases: Array<[string, Record<string, Buffer>, string[], RegExp]> = [
    [
      'images of 9 pixels for a 4-feature model',
      { 'i.idx': idxFile([5, 3, 3], Array(45).fill(1)) },
      [],
      /i\.idx: the model takes 4 features, but its images have 9 pixels \(3×3\)$/,
    ],
    [
      'a truncated file',
      { 'i.idx': idxFile([5, 2, 2], Array(15).fill(1)) },
      [],
      /i\.idx: truncated: header says 5×2×2 = 20 bytes of data, file has 15$/,
    ],
    [
      'a data type other than unsigned bytes',
      { 'i.idx': idxFile([5, 2, 2], Array(20).fill(1), 0x09) },
      [],
      /i\.idx: unsupported IDX data type 0x09 \(signed byte\); only 0x08/,
    ],
    [
      '4 labels for 5 images',
      { 'i.idx': idxFile([5, 2, 2], Array(20).fill(1)), 'l.idx': idxFile([4], [0, 1, 2, 0]) },
      ['--labels', 'l.idx'],
      /l\.idx: label count mismatch: 4 labels for 5 images in .*i\.idx$/,
    ],
    [
      'a label the model does not know',
      { 'i.idx': idxFile([5, 2, 2], Array(20).fill(1)), 'l.idx': idxFile([5], [0, 7, 2, 0, 1]) },
      ['--labels', 'l.idx'],
      /l\.idx: sample 2 has label 7, not a class the model knows \(0\.\.2\)$/,
    ],
  ];
  it.each(cases)('%s', async (_name, files, extra, message) => {
    for (const [f, bytes] of Object.entries(files)) writeFileSync(join(dir, f), bytes);
    const r = await run(['predict', '--model', 'run', '--input', 'i.idx', ...extra]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });
});

describe('--help of predict, evaluate and export says what they do now', () => {
  it('stdin, all or nothing, the report section, folders made for --out', async () => {
    const help = async (cmd: string): Promise<string> => {
      const r = await gradwire([cmd, '--help']);
      expect(r.status).toBe(0);
      return r.stdout.replace(/\s+/g, ' ');
    };
    const p = await help('predict');
    expect(p).toContain('--input FILE|-');
    expect(p).toContain('- for CSV on stdin');
    expect(p).toContain('write nothing: no --out file (an existing one is left as it was), nothing on stdout');
    const e = await help('evaluate');
    expect(e).toContain('--data FILE|-');
    expect(e).toContain('"Evaluation on the test split" section of \'gradwire report RUN_ID\'');
    const x = await help('export');
    expect(x).toContain('its folder made if missing');
    expect(x).toContain('outputs "probabilities" and "logits"');
  });
});
