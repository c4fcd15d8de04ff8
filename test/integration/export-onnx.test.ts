// The ONNX export against onnxruntime: small models trained in-process through the library
// (every activation, every norm, both dropout modes, an explicit layer list, both losses), each
// exported and run by onnxruntime-node on its test split. onnxruntime's probabilities must agree
// with gradwire's own eval-mode forward pass (evalSlot, the path of Trainer.evaluate) to 1e-5
// absolute, with the same argmax for every row.
import onnxProto, { type onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../../coordinator/run/datasets.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../shared/checkpoint.js';
import { parseRunConfig } from '../../shared/config.js';
import type { RunConfig } from '../../shared/config-types.js';
import { type Dataset, rowInto } from '../../shared/data/dataset.js';
import { iris } from '../../shared/data/iris.js';
import { spirals } from '../../shared/data/synthetic.js';
import { evalSlot, fillSlot, newSlot } from '../../shared/engine/pass.js';
import { Trainer } from '../../shared/engine/trainer.js';
import { exportOnnx, ONNX_INPUT, ONNX_LOGITS, ONNX_OUTPUT, ONNX_OPSET } from '../../shared/export/index.js';
import '../../shared/node/kernels-wasm.js';

/** gradwire's probabilities (softmax in float64 of the eval-mode logits) for the given rows */
function ours(trainer: Trainer, rows: Int32Array): Float64Array {
  const m = trainer.model;
  const C = m.classes;
  const out = new Float64Array(rows.length * C);
  const slot = newSlot(m, 64);
  for (let i = 0; i < rows.length; i += 64) {
    const part = rows.subarray(i, Math.min(i + 64, rows.length));
    fillSlot(slot, trainer.data, part, 0);
    evalSlot(m, slot);
    const z = slot.caches[m.layers.length - 1]!.out;
    for (let r = 0; r < part.length; r++) {
      let max = -Infinity;
      for (let j = 0; j < C; j++) max = Math.max(max, z[r * C + j]!);
      let s = 0;
      for (let j = 0; j < C; j++) s += Math.exp(z[r * C + j]! - max);
      for (let j = 0; j < C; j++) out[(i + r) * C + j] = Math.exp(z[r * C + j]! - max) / s;
    }
  }
  return out;
}

async function theirs(bytes: Uint8Array, data: Dataset, rows: Int32Array): Promise<Float32Array> {
  const F = data.features;
  const x = new Float32Array(rows.length * F);
  rows.forEach((s, r) => rowInto(data, s, x, r * F));
  const session = await ort.InferenceSession.create(bytes);
  expect(session.inputNames).toEqual([ONNX_INPUT]);
  expect(session.outputNames).toEqual([ONNX_OUTPUT, ONNX_LOGITS]);
  const result = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', x, [rows.length, F]) });
  const p = result[ONNX_OUTPUT]!;
  expect(p.dims).toEqual([rows.length, data.classes]);
  await session.release();
  return p.data as Float32Array;
}

function argmax(p: ArrayLike<number>, r: number, C: number): number {
  let best = 0;
  for (let j = 1; j < C; j++) if (p[r * C + j]! > p[r * C + best]!) best = j;
  return best;
}

const measured: string[] = [];
afterAll(() => {
  console.log(`max |Δprobability| (onnxruntime vs gradwire), opset ${ONNX_OPSET}:\n${measured.join('\n')}`);
});

let mnistSlice: Dataset | undefined;
/** every 10th digit of the built-in MNIST subset: 1,000 rows, every class */
function mnist(): Dataset {
  if (!mnistSlice) {
    const all = loadMnist();
    const n = Math.floor(all.n / 10);
    const x = new Float32Array(n * all.features);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      rowInto(all, i * 10, x, i * all.features);
      y[i] = all.y[i * 10]!;
    }
    mnistSlice = { ...all, n, x, y };
  }
  return mnistSlice;
}

function dataFor(cfg: RunConfig): Dataset {
  switch (cfg.data.name) {
    case 'iris':
      return iris();
    case 'spirals':
      return spirals(cfg.data.samples, cfg.data.classes, cfg.data.noise, cfg.seed);
    case 'mnist':
      return mnist();
    default:
      throw new Error(`no test data for ${cfg.data.name}`);
  }
}

const IRIS = { data: { name: 'iris', split: [0.5, 0.1, 0.4] } };
const SPIRALS = { data: { name: 'spirals', samples: 300, classes: 3, noise: 0.1, split: [0.6, 0.1, 0.3] } };
const MNIST = { data: { name: 'mnist', split: [0.7, 0.1, 0.2] } };
const base = { seed: 5, batchSize: 32, microbatch: 16, optimizer: { name: 'adam', lr: 0.01 } };

const cases: Array<[string, Record<string, unknown>]> = [
  ...['relu', 'leaky_relu', 'elu', 'selu', 'gelu', 'sigmoid', 'tanh', 'softplus', 'silu'].map(
    (a): [string, Record<string, unknown>] => [
      `iris, ${a}`,
      { ...IRIS, epochs: 8, model: { hidden: [16, 8], activation: a } },
    ],
  ),
  [
    'spirals, batch norm, gelu',
    { ...SPIRALS, epochs: 6, model: { hidden: [32, 16], activation: 'gelu', norm: 'batch' } },
  ],
  [
    'spirals, layer norm, tanh',
    { ...SPIRALS, epochs: 6, model: { hidden: [32, 16], activation: 'tanh', norm: 'layer' } },
  ],
  [
    'spirals, group norm (4 groups), silu',
    { ...SPIRALS, epochs: 6, model: { hidden: [32, 16], activation: 'silu', norm: 'group', groups: 4 } },
  ],
  [
    'spirals, instance norm (4 channels), elu',
    { ...SPIRALS, epochs: 6, model: { hidden: [32, 16], activation: 'elu', norm: 'instance', channels: 4 } },
  ],
  [
    'spirals, dropout 0.3 scale_at_test, relu',
    { ...SPIRALS, epochs: 6, model: { hidden: [32, 16], dropout: 0.3, dropoutMode: 'scale_at_test' } },
  ],
  [
    'mnist slice, batch norm, dropout 0.2 inverted, relu',
    { ...MNIST, epochs: 2, model: { hidden: [32, 16], norm: 'batch', dropout: 0.2 } },
  ],
  ['iris, mse loss, sigmoid', { ...IRIS, epochs: 8, model: { hidden: [16], activation: 'sigmoid', loss: 'mse' } }],
  [
    'iris, layers: every layer kind',
    {
      ...IRIS,
      epochs: 8,
      model: {
        layers: [
          { type: 'dense', units: 16, init: 'he_uniform' },
          { type: 'groupnorm', groups: 4 },
          { type: 'activation', name: 'gelu' },
          { type: 'dropout', rate: 0.1, mode: 'scale_at_test' },
          { type: 'dense', units: 12 },
          { type: 'batchnorm' },
          { type: 'activation', name: 'selu' },
          { type: 'dropout', rate: 0.2 },
          { type: 'dense', units: 8 },
          { type: 'instancenorm', channels: 2 },
          { type: 'activation', name: 'softplus' },
          { type: 'layernorm' },
          { type: 'dense', units: 3 },
        ],
      },
    },
  ],
];

describe('ONNX export, run by onnxruntime', () => {
  it.each(cases)('%s', async (name, raw) => {
    const cfg = parseRunConfig({ ...base, ...raw });
    const data = dataFor(cfg);
    const trainer = new Trainer(cfg, data);
    while (!trainer.done) trainer.trainStep();
    // the export reads what a checkpoint holds
    const ckpt = decodeCheckpoint(encodeCheckpoint(cfg, trainer.state()), 'test.gwc');
    const bytes = exportOnnx(ckpt.config, ckpt.state, { producerVersion: '0.1.0' });
    const rows = trainer.split.test;
    expect(rows.length).toBeGreaterThan(10);
    const want = ours(trainer, rows);
    const got = await theirs(bytes, data, rows);
    let maxDiff = 0;
    const C = data.classes;
    let sameArgmax = 0;
    for (let r = 0; r < rows.length; r++) {
      for (let j = 0; j < C; j++) maxDiff = Math.max(maxDiff, Math.abs(got[r * C + j]! - want[r * C + j]!));
      if (argmax(got, r, C) === argmax(want, r, C)) sameArgmax++;
    }
    const acc = trainer.evaluate(rows).accuracy;
    measured.push(`  ${name}: ${maxDiff.toExponential(2)} (${rows.length} rows, test accuracy ${acc.toFixed(3)})`);
    expect(maxDiff).toBeLessThanOrEqual(1e-5);
    expect(sameArgmax).toBe(rows.length);
  });
});

describe('ONNX export, the graph', () => {
  it('opset 17, IR 8, a dynamic batch dimension, the ONNX nodes of each layer kind, metadata', () => {
    const layers = [
      { type: 'dense', units: 8 },
      { type: 'batchnorm' },
      { type: 'activation', name: 'gelu' },
      { type: 'dropout', rate: 0.5 },
      { type: 'dense', units: 6 },
      { type: 'groupnorm', groups: 3 },
      { type: 'activation', name: 'silu' },
      { type: 'dropout', rate: 0.25, mode: 'scale_at_test' },
      { type: 'dense', units: 4 },
      { type: 'instancenorm', channels: 2 },
      { type: 'layernorm' },
      { type: 'dense', units: 3 },
    ];
    const cfg = parseRunConfig({ ...base, ...IRIS, epochs: 1, model: { layers } });
    const trainer = new Trainer(cfg, iris());
    const m = onnxProto.onnx.ModelProto.decode(exportOnnx(cfg, trainer.state(), { producerVersion: '1.2.3' }));
    expect(Number(m.irVersion)).toBe(8);
    expect(m.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 17]]);
    expect([m.producerName, m.producerVersion]).toEqual(['gradwire', '1.2.3']);
    const g = m.graph as onnx.GraphProto;
    const dims = (v: onnx.IValueInfoProto): Array<string | number> =>
      v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
    expect(g.input.map((v) => [v.name, dims(v)])).toEqual([['features', ['N', 4]]]);
    expect(g.output.map((v) => [v.name, dims(v)])).toEqual([
      ['probabilities', ['N', 3]],
      ['logits', ['N', 3]],
    ]);
    expect(g.node.map((n) => n.opType)).toEqual([
      'Gemm',
      'BatchNormalization',
      ...['Mul', 'Erf', 'Add', 'Mul', 'Mul'], // gelu, exact
      // inverted dropout: nothing
      'Gemm',
      ...['Reshape', 'InstanceNormalization', 'Reshape', 'Mul', 'Add'], // groupnorm
      ...['Sigmoid', 'Mul'], // silu
      'Mul', // scale_at_test dropout: × (1 − p)
      'Gemm',
      ...['Reshape', 'InstanceNormalization', 'Reshape'], // instancenorm
      'LayerNormalization',
      'Gemm',
      'Softmax',
    ]);
    const keep = g.initializer.find((t) => t.name === '7.keep')!;
    expect(Buffer.from(keep.rawData!).readFloatLE(0)).toBe(Math.fround(0.75));
    const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    expect(meta).toMatchObject({ features: '4', classes: '3', loss: 'cross_entropy' });
    expect(JSON.parse(meta.layers!)).toEqual(cfg.model.layers);
  });

  it('one row and 1,000 rows run with the same weights (the batch dimension is free)', async () => {
    const cfg = parseRunConfig({ ...base, ...IRIS, epochs: 2, model: { hidden: [8], norm: 'batch' } });
    const data = iris();
    const trainer = new Trainer(cfg, data);
    while (!trainer.done) trainer.trainStep();
    const bytes = exportOnnx(cfg, trainer.state());
    const many = Int32Array.from({ length: 1000 }, (_, i) => i % data.n);
    const all = await theirs(bytes, data, many);
    const one = await theirs(bytes, data, many.subarray(7, 8));
    expect([...one]).toEqual([...all.subarray(7 * 3, 8 * 3)]);
  });
});
