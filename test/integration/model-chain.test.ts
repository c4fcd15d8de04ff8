// Train → predict → evaluate → export → onnxruntime, each step through the real CLI on one
// small model (iris from its CSV file, batch norm and dropout, trained in-process), every step
// checked against the others and against references computed here: onnxruntime-node running the
// exported model.onnx, a forward pass written here from the safetensors tensors (read by the
// independent reader in test/helpers/safetensors.ts), and the confusion matrix and per-class
// precision/recall/F1 counted here from predict's output and the file's labels.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, gradwire, tempDir } from '../helpers/cli.js';
import { f32Values, readSafetensors, type Tensor } from '../helpers/safetensors.js';

const IRIS = join(ROOT, 'deploy/k8s/examples/datasets-configmap/iris.csv');
const RUN_YAML = `seed: 3
data: { name: csv, path: iris.csv, labelColumn: species }
model: { hidden: [16, 8], activation: relu, norm: batch, dropout: 0.2 }
optimizer: { name: adam, lr: 0.01 }
batchSize: 16
epochs: 15
`;
const TOL = 1e-5;

let dir: string;
/** iris.csv: the feature rows and the labels, as written in the file */
let features: number[][];
let labels: string[];
let names: string[];
/** predict's output on iris.csv: the predicted class and the probabilities of each row */
let predicted: string[];
let probs: number[][];

const argmax = (p: ArrayLike<number>): number => {
  let best = 0;
  for (let j = 1; j < p.length; j++) if (p[j]! > p[best]!) best = j;
  return best;
};
const accuracyOf = (classes: string[]): number => classes.filter((c, i) => c === labels[i]).length / labels.length;

async function ok(args: string[]): Promise<string> {
  const r = await gradwire(args, { cwd: dir });
  expect(r.status, `gradwire ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  dir = tempDir('gradwire-chain-');
  copyFileSync(IRIS, join(dir, 'iris.csv'));
  writeFileSync(join(dir, 'run.yaml'), RUN_YAML);
  await ok(['train', '--config', 'run.yaml', '--in-process', '--out', 'run', '--log-format', 'json']);
  const [head, ...rows] = readFileSync(IRIS, 'utf8').trim().split('\n');
  expect(head!.split(',').at(-1)).toBe('species');
  features = rows.map((l) => l.split(',').slice(0, 4).map(Number));
  labels = rows.map((l) => l.split(',')[4]!);
  names = [...new Set(labels)].sort();
  const out = (await ok(['predict', '--model', 'run', '--input', 'iris.csv'])).trim().split('\n');
  expect(out[0]).toBe(`row,predicted,probability,${names.map((n) => `p_${n}`).join(',')}`);
  const cells = out.slice(1).map((l) => l.split(','));
  expect(cells.map((c) => Number(c[0]))).toEqual(labels.map((_, i) => i + 1));
  predicted = cells.map((c) => c[1]!);
  probs = cells.map((c) => c.slice(3).map(Number));
});

describe('train → predict → evaluate → export agree', () => {
  it("predict: each row's class is its most probable one, and the probabilities sum to 1", () => {
    expect(predicted.length).toBe(150);
    for (const [i, p] of probs.entries()) {
      expect(predicted[i]).toBe(names[argmax(p)]);
      expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-6);
    }
    // a model that learned something: well above a third
    expect(accuracyOf(predicted)).toBeGreaterThan(0.6);
  });

  it("evaluate --json: predict's accuracy, and the confusion matrix and per-class metrics counted from predict's output", async () => {
    const e = JSON.parse(await ok(['evaluate', '--model', 'run', '--data', 'iris.csv', '--json']));
    expect(e.classNames).toEqual(names);
    expect(e.samples).toBe(150);
    expect(e.accuracy).toBe(accuracyOf(predicted));
    const C = names.length;
    const confusion = names.map(() => new Array<number>(C).fill(0));
    labels.forEach((l, i) => {
      confusion[names.indexOf(l)]![names.indexOf(predicted[i]!)]!++;
    });
    expect(e.confusion).toEqual(confusion);
    for (let k = 0; k < C; k++) {
      const tp = confusion[k]![k]!;
      const actual = confusion[k]!.reduce((a, b) => a + b, 0);
      const said = confusion.reduce((a, row) => a + row[k]!, 0);
      const precision = said ? tp / said : 0;
      const recall = actual ? tp / actual : 0;
      const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
      expect(e.perClass[k].support).toBe(actual);
      expect(e.perClass[k].precision).toBeCloseTo(precision, 12);
      expect(e.perClass[k].recall).toBeCloseTo(recall, 12);
      expect(e.perClass[k].f1).toBeCloseTo(f1, 12);
    }
    // the loss: the mean cross-entropy of predict's probabilities
    const loss = -labels.reduce((s, l, i) => s + Math.log(probs[i]![names.indexOf(l)]!), 0) / 150;
    expect(Math.abs(e.loss - loss)).toBeLessThan(1e-5);
  });

  it("on the run's test split: predict's accuracy, evaluate's and summary.json's testAccuracy are one number", async () => {
    const summary = JSON.parse(readFileSync(join(dir, 'run/summary.json'), 'utf8'));
    const e = JSON.parse(await ok(['evaluate', '--model', 'run', '--json']));
    const r = await gradwire(['predict', '--model', 'run'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(e.accuracy).toBe(summary.testAccuracy);
    expect(r.stderr).toContain(`(${e.correct}/${e.samples} labelled rows)`);
  });

  it('export --format onnx: onnxruntime on the same rows gives the same probabilities (≤ 1e-5) and accuracy', async () => {
    expect((await ok(['export', '--model', 'run', '--format', 'onnx', '--out', 'out/model.onnx'])).trim()).toBe(
      join(dir, 'out/model.onnx'),
    );
    const bytes = readFileSync(join(dir, 'out/model.onnx'));
    // the model.onnx the run wrote into its folder is the same file
    expect(readFileSync(join(dir, 'run/model.onnx')).equals(bytes)).toBe(true);
    const session = await ort.InferenceSession.create(bytes);
    const x = new ort.Tensor('float32', Float32Array.from(features.flat()), [150, 4]);
    const result = await session.run({ [session.inputNames[0]!]: x });
    await session.release();
    const p = result.probabilities!;
    expect(p.dims).toEqual([150, 3]);
    const theirs = p.data as Float32Array;
    let maxDiff = 0;
    const classes: string[] = [];
    for (let i = 0; i < 150; i++) {
      const row = theirs.subarray(i * 3, i * 3 + 3);
      for (let j = 0; j < 3; j++) maxDiff = Math.max(maxDiff, Math.abs(row[j]! - probs[i]![j]!));
      classes.push(names[argmax(row)]!);
    }
    expect(maxDiff).toBeLessThanOrEqual(TOL);
    expect(classes).toEqual(predicted);
    expect(accuracyOf(classes)).toBe(accuracyOf(predicted));
  });

  it('export --format safetensors (into a new folder): a forward pass computed here from its tensors is predict’s', async () => {
    await ok(['export', '--model', 'run', '--format', 'safetensors', '--out', 'new/folder/model.safetensors']);
    const { metadata, tensors } = readSafetensors(readFileSync(join(dir, 'new/folder/model.safetensors')));
    expect(metadata).toMatchObject({ features: '4', classes: '3', class_names: JSON.stringify(names) });
    const layers = JSON.parse(metadata.layers!) as Array<{ type: string; name?: string; rate?: number; mode?: string }>;
    // the compact form expanded: Dense → BatchNorm → activation → Dropout per hidden width, then Dense
    expect(layers.map((l) => l.type).join(' ')).toBe(
      'dense batchnorm activation dropout dense batchnorm activation dropout dense',
    );
    const t = (name: string): Float32Array => f32Values(tensors.get(name) as Tensor);
    let maxDiff = 0;
    for (const [r, row] of features.entries()) {
      let x = row.slice();
      for (const [i, l] of layers.entries()) {
        if (l.type === 'dense') {
          // nn.Linear: y = x·Wᵀ + b, W [out, in]
          const [outF, inF] = tensors.get(`${i}.weight`)!.shape as [number, number];
          const w = t(`${i}.weight`);
          const b = t(`${i}.bias`);
          x = Array.from({ length: outF }, (_, j) => x.reduce((s, v, k) => s + w[j * inF + k]! * v, b[j]!));
        } else if (l.type === 'batchnorm') {
          // BatchNorm1d in eval mode: the running statistics, eps 1e-5
          const [g, b, mean, v] = ['weight', 'bias', 'running_mean', 'running_var'].map((n) => t(`${i}.${n}`));
          x = x.map((u, j) => ((u - mean![j]!) / Math.sqrt(v![j]! + 1e-5)) * g![j]! + b![j]!);
        } else if (l.type === 'activation') {
          expect(l.name).toBe('relu');
          x = x.map((u) => Math.max(0, u));
        } else if (l.type === 'dropout') {
          // inverted dropout is the identity at test time; the lecture's keeps (1 − p)
          if (l.mode === 'scale_at_test') x = x.map((u) => u * (1 - l.rate!));
        } else throw new Error(`no reference for layer ${l.type}`);
      }
      const max = Math.max(...x);
      const e = x.map((u) => Math.exp(u - max));
      const sum = e.reduce((a, b) => a + b, 0);
      e.forEach((u, j) => {
        maxDiff = Math.max(maxDiff, Math.abs(u / sum - probs[r]![j]!));
      });
      expect(names[argmax(e)], `row ${r + 1}`).toBe(predicted[r]);
    }
    expect(maxDiff).toBeLessThanOrEqual(TOL);
  });
});
