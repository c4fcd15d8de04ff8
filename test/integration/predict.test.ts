// gradwire predict and evaluate through the real CLI: a small iris model trained from a CSV
// file (in-process, 3 epochs), then its predictions and metrics against the run's own numbers
// and an eval forward pass computed here; a run id and a sweep id; CSV with and without the
// label column; IDX input; a large generated CSV streamed in order; and each bad input.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../shared/checkpoint.js';
import { datasetFromCsv } from '../../shared/data/csv.js';
import { stratifiedSplit } from '../../shared/data/split.js';
import { evalSlot, fillSlot, newSlot } from '../../shared/engine/pass.js';
import { createKernels } from '../../shared/kernels/index.js';
import '../../shared/node/kernels-wasm.js';
import { Model } from '../../shared/nn/model.js';
import { ROOT, gradwire, tempDir } from '../helpers/cli.js';
import { idxFile } from '../helpers/digits.js';

const IRIS = join(ROOT, 'deploy/k8s/examples/datasets-configmap/iris.csv');
const RUN_YAML = `seed: 0
data: { name: csv, path: iris.csv, labelColumn: species }
model: { hidden: [16], activation: relu, init: he_normal }
optimizer: { name: adam, lr: 0.01 }
batchSize: 16
epochs: 3
`;

interface Rows {
  header: string[];
  rows: string[][];
}
const csv = (text: string): Rows => {
  const [h, ...rest] = text.trim().split('\n');
  return { header: h!.split(','), rows: rest.map((l) => l.split(',')) };
};

let dir: string;
let summary: { runId: string; testAccuracy: number; testLoss: number; dataset: { test: number } };

beforeAll(async () => {
  dir = tempDir('gradwire-predict-');
  copyFileSync(IRIS, join(dir, 'iris.csv'));
  writeFileSync(join(dir, 'run.yaml'), RUN_YAML);
  const r = await gradwire(['train', '--config', 'run.yaml', '--in-process', '--out', 'run', '--log-format', 'json'], {
    cwd: dir,
  });
  expect(r.status, r.stderr).toBe(0);
  summary = JSON.parse(readFileSync(join(dir, 'run/summary.json'), 'utf8'));
  expect(existsSync(join(dir, 'run/model.onnx'))).toBe(true);
});

/** the test split's rows of iris.csv and the class each gets from an eval forward pass here */
function expected(): { lines: string[]; predicted: string[]; names: string[] } {
  const text = readFileSync(IRIS, 'utf8');
  const data = datasetFromCsv(text, 'species', 'iris.csv');
  const ckpt = decodeCheckpoint(readFileSync(join(dir, 'run/checkpoint.gwc')), 'checkpoint.gwc');
  const split = stratifiedSplit(data.y, data.classes, ckpt.config.data.split, ckpt.config.seed);
  const model = Model.fromConfig(ckpt.config.model, data.features, data.classes, createKernels());
  model.params.set(ckpt.state.params);
  model.buffers.set(ckpt.state.buffers);
  const slot = newSlot(model, split.test.length);
  fillSlot(slot, data, split.test, 0);
  evalSlot(model, slot);
  const logits = slot.caches[model.layers.length - 1]!.out;
  const predicted: string[] = [];
  for (let i = 0; i < split.test.length; i++) {
    const row = Array.from(logits.subarray(i * 3, i * 3 + 3));
    predicted.push(data.classNames![row.indexOf(Math.max(...row))]!);
  }
  const all = text.trim().split('\n');
  return { lines: [...split.test].map((s) => all[s + 1]!), predicted, names: data.classNames! };
}

describe('gradwire predict', () => {
  it("the run's test split: the eval forward pass's argmax, probabilities summing to 1, the run's test accuracy", async () => {
    const r = await gradwire(['predict', '--model', 'run'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const { header, rows } = csv(r.stdout);
    expect(header).toEqual(['row', 'predicted', 'probability', 'p_setosa', 'p_versicolor', 'p_virginica']);
    const want = expected();
    expect(rows.length).toBe(summary.dataset.test);
    expect(rows.map((x) => x[1])).toEqual(want.predicted);
    for (const [i, x] of rows.entries()) {
      expect(Number(x[0])).toBe(i + 1);
      const p = x.slice(3).map(Number);
      expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-9);
      expect(Number(x[2])).toBe(Math.max(...p));
    }
    // its accuracy against the split's labels is the run's
    const labels = want.lines.map((l) => l.split(',')[4]);
    const correct = rows.filter((x, i) => x[1] === labels[i]).length;
    expect(correct / rows.length).toBe(summary.testAccuracy);
    expect(r.stderr).toContain(`accuracy ${(summary.testAccuracy * 100).toFixed(2)}%`);
  });

  it('a CSV file with and without the label column, by run id and run id prefix, --out and --format json', async () => {
    const want = expected();
    const header = 'sepal_length,sepal_width,petal_length,petal_width';
    writeFileSync(join(dir, 'with.csv'), `${header},species\n${want.lines.join('\n')}\n`);
    // the label column need not be last, and may be missing
    writeFileSync(
      join(dir, 'without.csv'),
      `${header}\n${want.lines.map((l) => l.split(',').slice(0, 4).join(',')).join('\r\n')}\r\n`,
    );
    const a = await gradwire(['predict', '--model', summary.runId, '--input', 'with.csv', '--out', 'a.csv'], {
      cwd: dir,
    });
    expect(a.status, a.stderr).toBe(0);
    const b = await gradwire(['predict', '--model', summary.runId.slice(0, -2), '--input', 'without.csv'], {
      cwd: dir,
    });
    expect(b.status, b.stderr).toBe(0);
    const fromA = csv(readFileSync(join(dir, 'a.csv'), 'utf8')).rows.map((x) => x[1]);
    expect(fromA).toEqual(want.predicted);
    expect(csv(b.stdout).rows.map((x) => x[1])).toEqual(want.predicted);
    expect(b.stderr).not.toContain('accuracy');
    const j = await gradwire(['predict', '--model', 'run', '--input', 'without.csv', '--format', 'json'], { cwd: dir });
    expect(j.status, j.stderr).toBe(0);
    const parsed = JSON.parse(j.stdout) as Array<{
      row: number;
      predicted: string;
      probabilities: Record<string, number>;
    }>;
    expect(parsed.map((p) => p.predicted)).toEqual(want.predicted);
    expect(Object.keys(parsed[0]!.probabilities)).toEqual(want.names);
  });

  it('a large CSV streams: as many output rows as input rows, in order', async () => {
    const n = 60_000;
    const lines = ['sepal_length,sepal_width,petal_length,petal_width'];
    for (let i = 0; i < n; i++)
      lines.push(
        `${(4 + (i % 40) / 10).toFixed(1)},3.0,${(1 + (i % 60) / 10).toFixed(1)},${((i % 25) / 10).toFixed(1)}`,
      );
    writeFileSync(join(dir, 'big.csv'), `${lines.join('\n')}\n`);
    const r = await gradwire(['predict', '--model', 'run', '--input', 'big.csv', '--out', 'big-out.csv'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const out = readFileSync(join(dir, 'big-out.csv'), 'utf8').trim().split('\n');
    expect(out.length).toBe(n + 1);
    for (let i = 1; i <= n; i += 997) expect(out[i]!.split(',')[0]).toBe(String(i));
    expect(out[n]!.split(',')[0]).toBe(String(n));
    // rows with the same features get the same prediction wherever they are in the file
    expect(out[1]!.split(',').slice(1)).toEqual(out[1 + 600]!.split(',').slice(1));
  });

  it('an IDX images file (and its labels) with a model trained on IDX', async () => {
    const d = tempDir('gradwire-predict-idx-');
    const n = 240;
    const F = 16;
    const pixels = Buffer.alloc(n * F);
    const labels = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 3;
      for (let f = 0; f < F; f++) pixels[i * F + f] = (labels[i]! * 80 + ((i * 7 + f * 13) % 60)) & 255;
    }
    writeFileSync(join(d, 'img.idx'), idxFile([n, 4, 4], pixels));
    writeFileSync(join(d, 'lab.idx'), idxFile([n], labels));
    writeFileSync(
      join(d, 'run.yaml'),
      'seed: 1\ndata: { name: idx, images: img.idx, labels: lab.idx }\nmodel: { hidden: [8] }\noptimizer: { name: adam, lr: 0.01 }\nbatchSize: 16\nepochs: 2\n',
    );
    const t = await gradwire(['train', '--config', 'run.yaml', '--in-process', '--out', 'run', '--no-export'], {
      cwd: d,
    });
    expect(t.status, t.stderr).toBe(0);
    expect(existsSync(join(d, 'run/model.onnx'))).toBe(false);
    expect(JSON.parse(readFileSync(join(d, 'run/model.json'), 'utf8'))).toMatchObject({ features: F, classes: 3 });
    const r = await gradwire(['predict', '--model', 'run', '--input', 'img.idx', '--labels', 'lab.idx'], { cwd: d });
    expect(r.status, r.stderr).toBe(0);
    const { header: h, rows } = csv(r.stdout);
    expect(h).toEqual(['row', 'predicted', 'probability', 'p_0', 'p_1', 'p_2']);
    expect(rows.length).toBe(n);
    const correct = rows.filter((x, i) => Number(x[1]) === labels[i]).length;
    expect(r.stderr).toContain(`(${correct}/${n} labelled rows)`);
    const e = await gradwire(['evaluate', '--model', 'run', '--data', 'img.idx', '--labels', 'lab.idx', '--json'], {
      cwd: d,
    });
    expect(e.status, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).correct).toBe(correct);
  });
});

describe('gradwire evaluate', () => {
  it("the test split: the run's test accuracy and loss; the confusion matrix sums to the split", async () => {
    const r = await gradwire(['evaluate', '--model', 'run', '--json'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(e.accuracy).toBe(summary.testAccuracy);
    expect(e.loss).toBe(summary.testLoss);
    const total = (e.confusion as number[][]).flat().reduce((a, b) => a + b, 0);
    expect(total).toBe(summary.dataset.test);
    expect(e.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    // from another folder: model.json says where the run's iris.csv is
    mkdirSync(join(dir, 'elsewhere'), { recursive: true });
    const o = await gradwire(['evaluate', '--model', '../run', '--json'], { cwd: join(dir, 'elsewhere') });
    expect(o.status, o.stderr).toBe(0);
    expect(JSON.parse(o.stdout).accuracy).toBe(summary.testAccuracy);
    const t = await gradwire(['evaluate', '--model', 'run', '--split', 'val'], { cwd: dir });
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toContain('confusion matrix');
    expect(t.stdout).toMatch(/macro avg/);
  });

  it("a sweep id resolves to its best trial's model", async () => {
    writeFileSync(
      join(dir, 'sweep.yaml'),
      'run: { data: { name: iris }, model: { hidden: [8] }, batchSize: 16, epochs: 2 }\nmethod: random\ntrials: 2\nparameters:\n  optimizer.lr: { values: [0.01, 0.05] }\n',
    );
    const s = await gradwire(['sweep', '--config', 'sweep.yaml', '--threads', '1', '--out', 'sweeps/s1'], { cwd: dir });
    expect(s.status, s.stderr).toBe(0);
    const sw = JSON.parse(readFileSync(join(dir, 'sweeps/s1/summary.json'), 'utf8'));
    expect(existsSync(join(dir, 'sweeps/s1/model.onnx'))).toBe(true);
    const r = await gradwire(['evaluate', '--model', sw.sweepId, '--json'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(e.model).toContain(`best trial #${sw.best.index}`);
    expect(e.accuracy).toBe(sw.best.testAccuracy);
  });
});

describe('bad input: one line, exit 2, no --out file', () => {
  const bad = async (
    name: string,
    content: string,
    args: string[] = [],
  ): Promise<{ status: number | null; err: string }> => {
    writeFileSync(join(dir, name), content);
    const r = await gradwire(['predict', '--model', 'run', '--input', name, '--out', `${name}.out`, ...args], {
      cwd: dir,
    });
    expect(existsSync(join(dir, `${name}.out`))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith(`${name}.out`))).toEqual([]);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    return { status: r.status, err: r.stderr };
  };
  const H = 'sepal_length,sepal_width,petal_length,petal_width';

  it('wrong number of features, unknown label, non-numeric and missing cells', async () => {
    let r = await bad('f3.csv', 'a,b,c\n1,2,3\n');
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/the model takes 4 features, but the header has 3 feature columns/);
    r = await bad('label.csv', `${H},species\n5.1,3.5,1.4,0.2,setosa\n5.1,3.5,1.4,0.2,tulip\n`);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(
      /row 3, column "species": label "tulip" is not a class the model knows \(setosa, versicolor, virginica\)/,
    );
    // the error is late in the file: the chunks before it were already predicted
    const many = Array.from({ length: 3000 }, () => '5.1,3.5,1.4,0.2').join('\n');
    r = await bad('nan.csv', `${H}\n${many}\n5.1,abc,1.4,0.2\n`);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/row 3002, column "sepal_width": "abc" is not a number/);
    r = await bad('empty.csv', `${H}\n5.1,,1.4,0.2\n`);
    expect(r.err).toMatch(/row 2, column "sepal_width": the cell is empty/);
    r = await bad('short.csv', `${H}\n5.1,3.5,1.4\n`);
    expect(r.err).toMatch(/row 2 has 3 cells, but the header has 4 columns/);
  });

  it('an unknown run id, a folder without a model, a file that is not a checkpoint, a truncated one', async () => {
    const m = async (model: string): Promise<{ status: number | null; stderr: string }> =>
      await gradwire(['predict', '--model', model, '--out', 'x.csv'], { cwd: dir });
    let r = await m('run-19990101-000000');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--model run-19990101-000000: no such folder, and no run or sweep/);
    r = await m('sweeps');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/holds no model \(no checkpoint.gwc\)/);
    r = await m('iris.csv');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/iris.csv is not a usable gradwire checkpoint, or it is truncated/);
    const bytes = readFileSync(join(dir, 'run/checkpoint.gwc'));
    writeFileSync(join(dir, 'cut.gwc'), bytes.subarray(0, bytes.length >> 1));
    r = await m('cut.gwc');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cut.gwc is not a usable gradwire checkpoint, or it is truncated/);
    for (const x of [r.stderr]) expect(x.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'x.csv'))).toBe(false);
  });
});
