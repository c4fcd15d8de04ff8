// BatchNorm statistics: running mean/variance over 3 steps (momentum 0.1, unbiased variance,
// as torch.nn.BatchNorm1d), eval mode using them, and the reduction of per-microbatch
// statistics into global ones (SyncBatchNorm) against a direct two-pass computation; in both
// kernel variants. Then the layer's use of its kernels' memory: results in the caches,
// reduced values from elsewhere (the wire) copied in, and the same bits in js and wasm-simd.
import { describe, expect, it } from 'vitest';
import { BatchNorm, combineStats } from '../../shared/nn/norms.js';
import { treeReduce } from '../../shared/engine/reduce.js';
import { createJsKernels } from '../../shared/kernels/js.js';
import type { Kernels } from '../../shared/kernels/kernels.js';
import { createWasmKernels } from '../../shared/kernels/wasm.js';
import '../../shared/node/kernels-wasm.js';
import type { PassContext } from '../../shared/nn/layer.js';
import { Rng } from '../../shared/rng.js';

const wasm = createWasmKernels();
const VARIANTS: Array<[string, Kernels | null]> = [
  ['js', createJsKernels()],
  ['wasm-simd', wasm],
];

function bn(width: number, k: Kernels): BatchNorm {
  const layer = new BatchNorm(width);
  layer.bind(k.alloc(layer.paramSize), k.alloc(layer.bufferSize), k);
  layer.reset();
  return layer;
}

/** a copy of `src` in k's memory */
function inK(k: Kernels, src: ArrayLike<number>): Float32Array {
  const a = k.alloc(src.length);
  a.set(src);
  return a;
}

const ctx = (training: boolean, rows: number): PassContext => ({
  training,
  seed: 0,
  step: 0,
  samples: new Int32Array(rows),
});

// three batches of 4 samples × 2 features, worked by hand below
const batches = [
  [
    [1, 2],
    [3, 4],
    [5, 6],
    [7, 8],
  ],
  [
    [0, 0],
    [2, -2],
    [4, 2],
    [6, 0],
  ],
  [
    [10, 1],
    [10, 1],
    [10, 3],
    [10, 3],
  ],
];

describe.each(VARIANTS)('BatchNorm running statistics (%s kernels)', (_name, kernels) => {
  const test = kernels ? it : it.skip;
  const k = kernels!;

  test('follow running = 0.9·running + 0.1·batch with the unbiased batch variance, over 3 steps', () => {
    const layer = bn(2, k);
    // batch 1: mean (4, 5); unbiased var: Σ(x-4)² = 9+1+1+9 = 20 → 20/3 (both features)
    // batch 2: mean (3, 0); feature 0: Σ = 9+1+1+9 = 20 → 20/3; feature 1: Σ = 0+4+4+0 = 8 → 8/3
    // batch 3: mean (10, 2); feature 0: 0; feature 1: Σ = 1+1+1+1 = 4 → 4/3
    let rm = [0, 0],
      rv = [1, 1];
    const means = [
      [4, 5],
      [3, 0],
      [10, 2],
    ];
    const vars = [
      [20 / 3, 20 / 3],
      [20 / 3, 8 / 3],
      [0, 4 / 3],
    ];
    batches.forEach((rows, t) => {
      const x = inK(k, rows.flat());
      // two microbatches of 2, reduced as the engine does
      const stats = treeReduce(
        [layer.partialStats(x.subarray(0, 4), 2), layer.partialStats(x.subarray(4), 2)],
        combineStats,
      );
      layer.updateRunning(stats);
      rm = rm.map((m, f) => 0.9 * m + 0.1 * means[t]![f]!);
      rv = rv.map((v, f) => 0.9 * v + 0.1 * vars[t]![f]!);
      expect(layer.buffers[0]).toBeCloseTo(rm[0]!, 5);
      expect(layer.buffers[1]).toBeCloseTo(rm[1]!, 5);
      expect(layer.buffers[2]).toBeCloseTo(rv[0]!, 5);
      expect(layer.buffers[3]).toBeCloseTo(rv[1]!, 5);
    });
    // after 3 steps: running mean = 0.1·10 + 0.9·0.1·3 + 0.9²·0.1·4
    expect(rm[0]).toBeCloseTo(0.1 * 10 + 0.09 * 3 + 0.081 * 4, 12);
  });

  test('in eval mode normalizes with the running statistics, not the batch', () => {
    const layer = bn(2, k);
    layer.buffers.set([1, -1, 4, 0.25]); // running mean (1, -1), running var (4, 0.25)
    layer.params.set([2, 3, 0.5, -0.5]); // γ (2, 3), β (0.5, -0.5)
    const cache = layer.newCache(1);
    layer.forward(inK(k, [3, 0]), 1, cache, ctx(false, 1));
    expect(cache.out[0]).toBeCloseTo((2 * (3 - 1)) / Math.sqrt(4 + 1e-5) + 0.5, 5);
    expect(cache.out[1]).toBeCloseTo((3 * (0 + 1)) / Math.sqrt(0.25 + 1e-5) - 0.5, 5);
  });

  test('in training mode normalizes with the biased batch variance (torch semantics)', () => {
    const layer = bn(1, k);
    const cache = layer.newCache(4);
    layer.forward(inK(k, [1, 3, 5, 7]), 4, cache, ctx(true, 4));
    const sd = Math.sqrt(20 / 4 + 1e-5); // mean 4, biased variance 5
    expect(Array.from(cache.out)).toEqual([-3 / sd, -1 / sd, 1 / sd, 3 / sd].map(Math.fround));
  });

  test('reduces per-microbatch statistics of uneven sizes into the global mean and variance', () => {
    const layer = bn(3, k);
    const n = 37;
    const x = inK(
      k,
      Array.from({ length: n * 3 }, (_, i) => Math.sin(i * 1.7) * 5 + (i % 3) * 10),
    );
    const cuts = [0, 16, 32, 37];
    const parts = cuts.slice(1).map((end, j) => layer.partialStats(x.subarray(cuts[j]! * 3, end * 3), end - cuts[j]!));
    const g = treeReduce(parts, combineStats);
    for (let f = 0; f < 3; f++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += x[r * 3 + f]!;
      const mean = s / n;
      let m2 = 0;
      for (let r = 0; r < n; r++) m2 += (x[r * 3 + f]! - mean) ** 2;
      expect(g[0]).toBe(n);
      expect(g[1 + f]).toBeCloseTo(mean, 10);
      expect(g[1 + 3 + f]).toBeCloseTo(m2, 8);
    }
  });
});

/** the bytes of a typed array's own elements */
const bytes = (a: Float32Array | Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe.each(VARIANTS)("BatchNorm in its kernels' memory (%s kernels)", (_name, kernels) => {
  const test = kernels ? it : it.skip;
  const k = kernels!;
  const F = 5,
    rows = 6;
  const rng = new Rng(1, 'batchnorm-test', 'memory');
  const xa = inK(
    k,
    Array.from({ length: rows * F }, () => rng.normal() * 2 + 1),
  );
  const xb = inK(
    k,
    Array.from({ length: rows * F }, () => rng.normal() - 3),
  );

  test("partialStats with a cache returns that cache's buffer, the same bits as without one; caches do not share", () => {
    const layer = bn(F, k);
    const ca = layer.newCache(rows),
      cb = layer.newCache(rows);
    const free = layer.partialStats(xa, rows);
    const sa = layer.partialStats(xa, rows, ca);
    const sb = layer.partialStats(xb, rows, cb);
    expect(sa === sb).toBe(false);
    expect(k.owns(sa) && k.owns(sb)).toBe(true);
    expect(layer.partialStats(xa, rows, ca) === sa).toBe(true);
    expect(bytes(sa).equals(bytes(free))).toBe(true);
    // the free result is a copy: later calls leave it alone
    const kept = free.slice();
    layer.partialStats(xb, rows);
    expect(bytes(free).equals(bytes(kept))).toBe(true);
    expect(sb[1]).toBeLessThan(0);
  });

  test("reduced values from outside the kernels' memory give the same bits as the kernels' own", () => {
    const run = (foreign: boolean): Buffer[] => {
      const layer = bn(F, k);
      for (let i = 0; i < 2 * F; i++) layer.params[i] = 1 + 0.1 * i;
      const cache = layer.newCache(rows);
      const stats = combineStats(layer.partialStats(xa, rows), layer.partialStats(xb, rows)); // a plain array
      const own = layer.partialStats(xa, rows, cache); // then made the global statistics, in place
      own.set(stats);
      layer.applyStats(xa, rows, cache, foreign ? Float64Array.from(stats) : own);
      const grads = k.alloc(2 * F);
      const sums = layer.partialGradSums(xb, rows, cache, grads);
      expect(k.owns(sums)).toBe(true);
      const global = sums.map((v) => v * 2.5);
      const inCache = sums;
      inCache.set(global);
      layer.applyGradSums(xb, rows, cache, foreign ? Float64Array.from(global) : inCache, 2 * rows);
      layer.updateRunning(foreign ? Float64Array.from(stats) : own);
      return [cache.out, cache.dx, grads, layer.buffers].map((a) => Buffer.from(bytes(a)));
    };
    const a = run(false),
      b = run(true);
    a.forEach((v, i) => expect(v.equals(b[i]!), `output ${i}`).toBe(true));
  });

  test('a reduced value that is too short reads NaN past its end (as indexing past it does)', () => {
    const layer = bn(F, k);
    layer.updateRunning(Float64Array.from([4, 1, 2, 3, 4, 5, 1, 1, 1])); // M2 of features 3, 4 missing
    expect(Array.from(layer.buffers.subarray(0, F + 3)).every(Number.isFinite)).toBe(true);
    expect(Number.isNaN(layer.buffers[F + 3]!) && Number.isNaN(layer.buffers[F + 4]!)).toBe(true);
  });
});

describe('BatchNorm layer: wasm-simd bit-identical to js', () => {
  (wasm ? it : it.skip)('training and eval forward, both backwards, dγ/dβ and running statistics', () => {
    const kernels = VARIANTS.map(([, k]) => k!);
    const rng = new Rng(2, 'batchnorm-test', 'variants');
    for (const [rows, F] of [
      [1, 3],
      [7, 129],
      [16, 256],
    ] as const) {
      const x = Array.from({ length: rows * F }, () => rng.normal() * 3 + 0.5);
      const dy = Array.from({ length: rows * F }, () => rng.normal());
      const gamma = Array.from({ length: 2 * F }, () => rng.normal() * 0.5 + 1);
      const outs = kernels.map((k) => {
        const layer = bn(F, k);
        layer.params.set(gamma);
        const cache = layer.newCache(rows);
        const grads = k.alloc(2 * F);
        const xs = inK(k, x),
          dys = inK(k, dy);
        const got: Buffer[] = [];
        const keep = (a: Float32Array | Float64Array): void => {
          got.push(Buffer.from(bytes(a)));
        };
        layer.forward(xs, rows, cache, ctx(true, rows));
        keep(cache.out);
        layer.backward(xs, dys, rows, cache, grads, true);
        keep(cache.dx);
        keep(grads);
        layer.updateRunning(layer.partialStats(xs, rows));
        keep(layer.buffers);
        layer.forward(xs, rows, cache, ctx(false, rows));
        keep(cache.out);
        layer.backward(xs, dys, rows, cache, grads, true);
        keep(cache.dx);
        keep(grads);
        return got;
      });
      outs[0]!.forEach((v, i) => expect(v.equals(outs[1]![i]!), `rows ${rows}, F ${F}: output ${i}`).toBe(true));
    }
  });
});
