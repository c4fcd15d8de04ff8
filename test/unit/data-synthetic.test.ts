// Synthetic 2-D sets: shapes, class balance, determinism from the seed, and the geometry
// each one promises (spiral radius, moon arcs, blob centres and spread).
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../coordinator/run/datasets.js';
import { blobCentre, blobs, moons, spirals } from '../../shared/data/synthetic.js';

function classCounts(y: Int32Array, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  for (const v of y) c[v]!++;
  return c;
}

describe.each([
  ['spirals', (seed: number) => spirals(301, 3, 0.1, seed), 3],
  ['moons', (seed: number) => moons(301, 0.1, seed), 2],
  ['blobs', (seed: number) => blobs(301, 4, 0.5, seed), 4],
] as const)('%s', (_name, make, k) => {
  const d = make(5);

  it('has n × 2 features and the asked-for classes', () => {
    expect(d.n).toBe(301);
    expect(d.features).toBe(2);
    expect(d.classes).toBe(k);
    expect(d.x.length).toBe(602);
    expect(d.y.length).toBe(301);
  });

  it('balances classes to within one sample', () => {
    const c = classCounts(d.y, k);
    expect(c.reduce((a, b) => a + b)).toBe(301);
    expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
  });

  it('is deterministic from the seed', () => {
    expect([...make(5).x]).toEqual([...d.x]);
    expect([...make(5).y]).toEqual([...d.y]);
    expect([...make(6).x]).not.toEqual([...d.x]);
  });
});

describe('geometry', () => {
  it('spirals without noise lie within the unit disc', () => {
    const d = spirals(300, 3, 0, 1);
    for (let i = 0; i < d.n; i++) expect(Math.hypot(d.x[2 * i]!, d.x[2 * i + 1]!)).toBeLessThanOrEqual(1 + 1e-6);
  });

  it('moons without noise: class 0 on the unit upper arc, class 1 on the arc centred (1, 0.5)', () => {
    const d = moons(200, 0, 1);
    for (let i = 0; i < d.n; i++) {
      const [px, py] = [d.x[2 * i]!, d.x[2 * i + 1]!];
      const r = d.y[i] === 0 ? Math.hypot(px, py) : Math.hypot(px - 1, py - 0.5);
      expect(r).toBeCloseTo(1, 5);
    }
  });

  it('blobs: neighbouring centres 4 apart; sample mean near the centre, std near noise', () => {
    for (const k of [2, 3, 5, 10]) {
      const [ax, ay] = blobCentre(0, k),
        [bx, by] = blobCentre(1, k);
      expect(Math.hypot(ax - bx, ay - by)).toBeCloseTo(4, 9);
    }
    const d = blobs(20000, 2, 0.5, 3);
    for (let c = 0; c < 2; c++) {
      const xs: number[] = [];
      for (let i = 0; i < d.n; i++) if (d.y[i] === c) xs.push(d.x[2 * i]!);
      const mean = xs.reduce((a, b) => a + b) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
      expect(mean).toBeCloseTo(blobCentre(c, 2)[0], 1);
      expect(Math.abs(sd - 0.5)).toBeLessThan(0.02);
    }
  });

  it('loadDataset uses cfg.samples, cfg.classes, cfg.noise and the run seed', () => {
    const base = { split: [0.8, 0.1, 0.1] as [number, number, number], samples: 90, classes: 3, noise: 0.2 };
    const viaLoader = loadDataset({ ...base, name: 'spirals' }, '.', 11);
    expect([...viaLoader.x]).toEqual([...spirals(90, 3, 0.2, 11).x]);
    expect(loadDataset({ ...base, name: 'moons' }, '.', 11).classes).toBe(2);
  });

  it('rejects a class count below 2 or fewer samples than classes', () => {
    expect(() => blobs(10, 1, 0.1, 1)).toThrow(/classes must be an integer ≥ 2/);
    expect(() => spirals(2, 3, 0.1, 1)).toThrow(/samples must be an integer ≥ the number of classes/);
  });
});
