// Fisher's iris data against its published summary statistics (R's `iris`, identical to UCI's
// corrected bezdekIris.data): 50 of each species, column means 5.843, 3.057, 3.758, 1.199 and
// the per-species means.
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../coordinator/run/datasets.js';
import { iris } from '../../shared/data/iris.js';

function means(x: Float32Array, rows: number[]): number[] {
  const m = [0, 0, 0, 0];
  for (const r of rows) for (let f = 0; f < 4; f++) m[f]! += x[r * 4 + f]!;
  return m.map((v) => v / rows.length);
}

describe('iris', () => {
  const d = iris();

  it('is 150 × 4 with 3 named classes of 50', () => {
    expect(d.n).toBe(150);
    expect(d.features).toBe(4);
    expect(d.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    const counts = [0, 0, 0];
    for (const c of d.y) counts[c]!++;
    expect(counts).toEqual([50, 50, 50]);
  });

  it('has the well-known column means (sepal width 3.057: the corrected table)', () => {
    const m = means(d.x, [...Array(150).keys()]);
    [5.843, 3.057, 3.758, 1.199].forEach((v, f) => expect(Math.abs(m[f]! - v)).toBeLessThan(5e-4));
  });

  it('has the published per-species means', () => {
    const published = [
      [5.006, 3.428, 1.462, 0.246],
      [5.936, 2.77, 4.26, 1.326],
      [6.588, 2.974, 5.552, 2.026],
    ];
    for (let c = 0; c < 3; c++) {
      const m = means(
        d.x,
        [...Array(150).keys()].filter((i) => d.y[i] === c),
      );
      published[c]!.forEach((v, f) => expect(Math.abs(m[f]! - v)).toBeLessThan(5e-4));
    }
  });

  it('carries the corrected samples 35 and 38', () => {
    expect([...d.x.subarray(34 * 4, 35 * 4)].map((v) => +v.toFixed(1))).toEqual([4.9, 3.1, 1.5, 0.2]);
    expect([...d.x.subarray(37 * 4, 38 * 4)].map((v) => +v.toFixed(1))).toEqual([4.9, 3.6, 1.4, 0.1]);
  });

  it('is a fresh copy each time (callers may not corrupt it for others)', () => {
    const a = loadDataset({ name: 'iris', split: [0.8, 0.1, 0.1], samples: 0, classes: 0, noise: 0 }, '.', 1);
    a.x[0] = 99;
    expect(iris().x[0]).toBeCloseTo(5.1, 6);
  });
});
