// Dropout per invariant I3: the mask is a function of (seed, step, layer, sample, unit) only.
import { describe, expect, it } from 'vitest';
import { Dropout } from '../../shared/nn/elementwise.js';
import type { PassContext } from '../../shared/nn/layer.js';
import { hashUniform } from '../../shared/rng.js';

function run(d: Dropout, x: Float32Array, rows: number, ctx: PassContext): Float32Array {
  d.bind(new Float32Array(0), new Float32Array(0));
  const cache = d.newCache(rows);
  d.forward(x, rows, cache, ctx);
  return cache.out.slice();
}

const ctx = (samples: number[], step = 4, training = true): PassContext => ({
  training,
  seed: 11,
  step,
  samples: Int32Array.from(samples),
});

describe('dropout', () => {
  it('keeps 1 - p of the units, within 4 standard errors', () => {
    const p = 0.3,
      width = 500,
      rows = 200;
    const x = new Float32Array(width * rows).fill(1);
    const y = run(new Dropout(width, p, 'inverted'), x, rows, ctx(Array.from({ length: rows }, (_, i) => i)));
    const kept = y.filter((v) => v !== 0).length / y.length;
    const se = Math.sqrt((p * (1 - p)) / y.length);
    expect(Math.abs(kept - (1 - p))).toBeLessThan(4 * se);
  });

  it('gives a sample the same mask whatever batch or position it is in', () => {
    const width = 64;
    const d = new Dropout(width, 0.5, 'inverted');
    const rowsA = [3, 17, 42],
      rowsB = [42, 99, 5, 17];
    const xa = Float32Array.from({ length: rowsA.length * width }, (_, i) => 1 + (i % width));
    const xb = Float32Array.from({ length: rowsB.length * width }, (_, i) => 1 + (i % width));
    const ya = run(d, xa, rowsA.length, ctx(rowsA));
    const yb = run(d, xb, rowsB.length, ctx(rowsB));
    // sample 42: row 2 of A, row 0 of B; sample 17: row 1 of A, row 3 of B
    expect(ya.subarray(2 * width, 3 * width)).toEqual(yb.subarray(0, width));
    expect(ya.subarray(width, 2 * width)).toEqual(yb.subarray(3 * width, 4 * width));
  });

  it('follows the documented hash: unit u of sample s kept iff hashUniform(seed, step, layer, s, u) ≥ p', () => {
    const d = new Dropout(8, 0.4, 'scale_at_test');
    d.index = 2;
    const y = run(d, new Float32Array(8).fill(1), 1, ctx([77]));
    for (let u = 0; u < 8; u++) expect(y[u]).toBe(hashUniform(11, 4, 2, 77, u) >= 0.4 ? 1 : 0);
  });

  it('changes the mask with the step, the layer and the seed', () => {
    const width = 256;
    const x = new Float32Array(width).fill(1);
    const a = run(new Dropout(width, 0.5, 'inverted'), x, 1, ctx([1], 4));
    const b = run(new Dropout(width, 0.5, 'inverted'), x, 1, ctx([1], 5));
    const other = new Dropout(width, 0.5, 'inverted');
    other.index = 1;
    const c = run(other, x, 1, ctx([1], 4));
    expect(b).not.toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('inverted: scales kept units by 1/(1-p) in training, identity at eval', () => {
    const d = new Dropout(1000, 0.2, 'inverted');
    const x = new Float32Array(1000).fill(2);
    const y = run(d, x, 1, ctx([0]));
    for (const v of y) expect([0, Math.fround(2 * Math.fround(1 / 0.8))]).toContain(v);
    expect(run(d, x, 1, ctx([0], 4, false))).toEqual(x);
  });

  it('scale_at_test (the lecture): no scaling in training, × (1-p) at eval; the expected output matches', () => {
    const p = 0.2,
      width = 20000;
    const d = new Dropout(width, p, 'scale_at_test');
    const x = new Float32Array(width).fill(2);
    const train = run(d, x, 1, ctx([0]));
    for (const v of train) expect([0, 2]).toContain(v);
    const evalOut = run(d, x, 1, ctx([0], 4, false));
    for (const v of evalOut) expect(v).toBeCloseTo(2 * (1 - p), 6);
    const mean = train.reduce((s, v) => s + v, 0) / width;
    expect(Math.abs(mean - 2 * (1 - p))).toBeLessThan(4 * 2 * Math.sqrt((p * (1 - p)) / width));
  });
});
