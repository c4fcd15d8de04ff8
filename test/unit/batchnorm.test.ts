// BatchNorm statistics: running mean/variance over 3 steps (momentum 0.1, unbiased variance,
// as torch.nn.BatchNorm1d), eval mode using them, and the reduction of per-microbatch
// statistics into global ones (SyncBatchNorm) against a direct two-pass computation.
import { describe, expect, it } from 'vitest';
import { BatchNorm, combineStats } from '../../shared/nn/norms.js';
import { treeReduce } from '../../shared/engine/reduce.js';

function bn(width: number): BatchNorm {
  const layer = new BatchNorm(width);
  layer.bind(new Float32Array(layer.paramSize), new Float32Array(layer.bufferSize));
  layer.reset();
  return layer;
}

// three batches of 4 samples × 2 features, worked by hand below
const batches = [
  [[1, 2], [3, 4], [5, 6], [7, 8]],
  [[0, 0], [2, -2], [4, 2], [6, 0]],
  [[10, 1], [10, 1], [10, 3], [10, 3]],
];

describe('BatchNorm running statistics', () => {
  it('follow running = 0.9·running + 0.1·batch with the unbiased batch variance, over 3 steps', () => {
    const layer = bn(2);
    // batch 1: mean (4, 5); unbiased var: Σ(x-4)² = 9+1+1+9 = 20 → 20/3 (both features)
    // batch 2: mean (3, 0); feature 0: Σ = 9+1+1+9 = 20 → 20/3; feature 1: Σ = 0+4+4+0 = 8 → 8/3
    // batch 3: mean (10, 2); feature 0: 0; feature 1: Σ = 1+1+1+1 = 4 → 4/3
    let rm = [0, 0], rv = [1, 1];
    const means = [[4, 5], [3, 0], [10, 2]];
    const vars = [[20 / 3, 20 / 3], [20 / 3, 8 / 3], [0, 4 / 3]];
    batches.forEach((rows, t) => {
      const x = Float32Array.from(rows.flat());
      // two microbatches of 2, reduced as the engine does
      const stats = treeReduce([layer.partialStats(x.subarray(0, 4), 2), layer.partialStats(x.subarray(4), 2)], combineStats);
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

  it('in eval mode normalizes with the running statistics, not the batch', () => {
    const layer = bn(2);
    layer.buffers.set([1, -1, 4, 0.25]); // running mean (1, -1), running var (4, 0.25)
    layer.params.set([2, 3, 0.5, -0.5]); // γ (2, 3), β (0.5, -0.5)
    const cache = layer.newCache(1);
    layer.forward(Float32Array.from([3, 0]), 1, cache, { training: false, seed: 0, step: 0, samples: new Int32Array(1) });
    expect(cache.out[0]).toBeCloseTo(2 * (3 - 1) / Math.sqrt(4 + 1e-5) + 0.5, 5);
    expect(cache.out[1]).toBeCloseTo(3 * (0 + 1) / Math.sqrt(0.25 + 1e-5) - 0.5, 5);
  });

  it('in training mode normalizes with the biased batch variance (torch semantics)', () => {
    const layer = bn(1);
    const cache = layer.newCache(4);
    layer.forward(Float32Array.from([1, 3, 5, 7]), 4, cache, { training: true, seed: 0, step: 0, samples: new Int32Array(4) });
    const sd = Math.sqrt(20 / 4 + 1e-5); // mean 4, biased variance 5
    expect(Array.from(cache.out)).toEqual([-3 / sd, -1 / sd, 1 / sd, 3 / sd].map(Math.fround));
  });

  it('reduces per-microbatch statistics of uneven sizes into the global mean and variance', () => {
    const layer = bn(3);
    const n = 37;
    const x = Float32Array.from({ length: n * 3 }, (_, i) => Math.sin(i * 1.7) * 5 + (i % 3) * 10);
    const cuts = [0, 16, 32, 37];
    const parts = cuts.slice(1).map((end, k) => layer.partialStats(x.subarray(cuts[k]! * 3, end * 3), end - cuts[k]!));
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
