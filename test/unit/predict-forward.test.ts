// predict's forward pass (coordinator/model/forward.ts) gives the trainer's eval forward pass
// bit for bit: on all 10,000 built-in digits the sparse first layer (only the nonzero pixels)
// yields the same float64 probabilities and classes as evalSlot in the trainer's slots. Dense
// blocks take the dense path by themselves, and a non-finite weight turns the sparse path off.
import { describe, expect, it } from 'vitest';
import { PredictForward } from '../../coordinator/model/forward.js';
import { softmaxRows } from '../../coordinator/model/model.js';
import { loadMnist } from '../../coordinator/run/datasets.js';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import { evalSlot, newSlot } from '../../shared/engine/pass.js';
import { Trainer } from '../../shared/engine/trainer.js';
import { createKernels } from '../../shared/kernels/index.js';
import '../../shared/node/kernels-wasm.js';
import { Model } from '../../shared/nn/model.js';
import { Rng } from '../../shared/rng.js';

const data = loadMnist();
const cfg = { ...DEFAULT_RUN_CONFIG, data: { ...DEFAULT_RUN_CONFIG.data, name: 'mnist' as const } };

/** the default model (784-256-128-10) with the trainer's initial parameters */
function defaultModel(): Model {
  const model = Model.fromConfig(cfg.model, data.features, data.classes, createKernels());
  model.params.set(new Trainer(cfg, data).state().params);
  return model;
}

/** evalSlot over x in slots of 64 rows: the float64 probabilities and classes */
function reference(model: Model, x: Float32Array, rows: number) {
  const slot = newSlot(model, 64);
  const probs = new Float64Array(rows * model.classes);
  const predicted = new Int32Array(rows);
  for (let s = 0; s < rows; s += 64) {
    const r = Math.min(64, rows - s);
    slot.x.set(x.subarray(s * model.inF, (s + r) * model.inF));
    slot.rows = r;
    evalSlot(model, slot);
    softmaxRows(slot.caches[model.layers.length - 1]!.out, r, model.classes, probs, predicted, s);
  }
  return { probs, predicted };
}

/** forward over x in chunks of 1024 rows (as predictRows); with `pixels` (x = pixels / 255), as an
 *  IDX file's chunks: the floats only when a block runs dense */
function predictAll(forward: PredictForward, x: Float32Array, rows: number, pixels: Uint8Array | null = null) {
  const probs = new Float64Array(rows * forward.model.classes);
  const predicted = new Int32Array(rows);
  const F = forward.model.inF;
  for (let s = 0; s < rows; s += 1024) {
    const r = Math.min(1024, rows - s);
    forward.run({
      rows: r,
      pixels: pixels ? pixels.subarray(s * F, (s + r) * F) : null,
      features: () => x.subarray(s * F, (s + r) * F),
    });
    probs.set(forward.probs.subarray(0, r * forward.model.classes), s * forward.model.classes);
    predicted.set(forward.predicted.subarray(0, r), s);
  }
  return { probs, predicted };
}

const bitsOf = (a: Float64Array) => new BigUint64Array(a.buffer, a.byteOffset, a.length);

describe('predict forward pass', () => {
  it('on all 10,000 digits the sparse first layer gives evalSlot’s probabilities bit for bit', () => {
    const model = defaultModel();
    const want = reference(model, data.x, data.n);
    const forward = new PredictForward(model, 1024);
    const got = predictAll(forward, data.x, data.n);
    expect(forward.sparseRows).toBe(data.n); // every block of digits is sparse (~19% nonzero)
    expect(forward.denseRows).toBe(0);
    expect(got.predicted).toEqual(want.predicted);
    expect(bitsOf(got.probs)).toEqual(bitsOf(want.probs));
    // and the dense path (the same kernels as evalSlot) agrees as well
    const dense = new PredictForward(model, 1024, 'dense');
    expect(bitsOf(predictAll(dense, data.x, data.n).probs)).toEqual(bitsOf(want.probs));
    expect(dense.sparseRows).toBe(0);
  });

  it('from the digits as IDX pixels (bytes, x = pixel / 255) the same bits, without the floats', () => {
    const model = defaultModel();
    // the built-in digits to bytes (they are stored with 3 decimals), and those bytes ÷ 255
    const pixels = new Uint8Array(data.n * data.features);
    for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round(data.x[i]! * 255);
    const x = Float32Array.from(pixels, (p) => p / 255);
    const want = reference(model, x, data.n);
    const forward = new PredictForward(model, 1024);
    const got = predictAll(forward, new Float32Array(0), data.n, pixels); // no floats to read
    expect(forward.sparseRows).toBe(data.n);
    expect(got.predicted).toEqual(want.predicted);
    expect(bitsOf(got.probs)).toEqual(bitsOf(want.probs));
  });

  it('a block of dense rows runs the dense first layer, with the same results', () => {
    const model = defaultModel();
    const rows = 600;
    const x = new Float32Array(rows * data.features);
    const rng = new Rng(7, 'dense-rows');
    // rows 0–255 (one block) all nonzero; the rest digits
    for (let i = 0; i < 256 * data.features; i++) x[i] = rng.range(0.01, 1);
    x.set(data.x.subarray(0, (rows - 256) * data.features), 256 * data.features);
    const forward = new PredictForward(model, 1024);
    const got = predictAll(forward, x, rows);
    expect(forward.denseRows).toBe(256);
    expect(forward.sparseRows).toBe(rows - 256);
    expect(bitsOf(got.probs)).toEqual(bitsOf(reference(model, x, rows).probs));
  });

  it('a non-finite first-layer weight keeps every block dense (0·∞ is NaN, which skipping would hide)', () => {
    const model = defaultModel();
    model.params[5] = Number.POSITIVE_INFINITY;
    const forward = new PredictForward(model, 1024);
    const got = predictAll(forward, data.x, 300);
    expect(forward.sparseRows).toBe(0);
    expect(bitsOf(got.probs)).toEqual(bitsOf(reference(model, data.x, 300).probs));
    expect(() => new PredictForward(model, 1024, 'sparse')).toThrow(/cannot run sparse/);
  });
});
