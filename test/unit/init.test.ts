// Initializer statistics against DESIGN.md's formulas (PyTorch conventions): the bound of
// each uniform law, and the variance within 5% over 1e5 draws.
import { describe, expect, it } from 'vitest';
import { INITIALIZERS, type InitName } from '../../shared/config-types.js';
import { initSpec, initialize } from '../../shared/nn/init.js';
import { Rng } from '../../shared/rng.js';

const fanIn = 400,
  fanOut = 250; // 1e5 weights
const expected: Record<InitName, { variance: number; bound?: number }> = {
  lecun_normal: { variance: 1 / fanIn },
  lecun_uniform: { variance: 1 / fanIn, bound: Math.sqrt(3 / fanIn) },
  xavier_normal: { variance: 2 / (fanIn + fanOut) },
  xavier_uniform: { variance: 2 / (fanIn + fanOut), bound: Math.sqrt(6 / (fanIn + fanOut)) },
  he_normal: { variance: 2 / fanIn },
  he_uniform: { variance: 2 / fanIn, bound: Math.sqrt(6 / fanIn) },
  zeros: { variance: 0 },
};

describe('initializers', () => {
  it.each(INITIALIZERS.map((n) => [n]))('%s has the variance (and bound) of its formula', (name) => {
    const w = new Float32Array(fanIn * fanOut);
    initialize(w, name as InitName, fanIn, fanOut, new Rng(1, 'init-test', name));
    let s = 0,
      s2 = 0,
      maxAbs = 0;
    for (const v of w) {
      s += v;
      s2 += v * v;
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    const mean = s / w.length;
    const variance = s2 / w.length - mean * mean;
    const e = expected[name as InitName];
    if (e.variance === 0) {
      expect(maxAbs).toBe(0);
      return;
    }
    expect(Math.abs(variance / e.variance - 1)).toBeLessThan(0.05);
    expect(Math.abs(mean)).toBeLessThan(4 * Math.sqrt(e.variance / w.length)); // ~4 standard errors
    if (e.bound !== undefined) {
      expect(maxAbs).toBeLessThanOrEqual(e.bound);
      expect(maxAbs).toBeGreaterThan(0.99 * e.bound); // the draws reach the bound
    }
  });

  it('uses fan_in and fan_out explicitly (Xavier depends on both, He only on fan_in)', () => {
    expect(initSpec('xavier_normal', 100, 300).scale).toBeCloseTo(Math.sqrt(2 / 400), 12);
    expect(initSpec('he_normal', 100, 300).scale).toBeCloseTo(Math.sqrt(2 / 100), 12);
    expect(initSpec('lecun_uniform', 12, 1).scale).toBeCloseTo(0.5, 12); // √(3/12), not √(1/12) (lecture erratum)
  });

  it('is reproducible from the seed and differs between seeds', () => {
    const a = new Float32Array(100),
      b = new Float32Array(100),
      c = new Float32Array(100);
    initialize(a, 'he_normal', 10, 10, new Rng(5, 'init', 0));
    initialize(b, 'he_normal', 10, 10, new Rng(5, 'init', 0));
    initialize(c, 'he_normal', 10, 10, new Rng(6, 'init', 0));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });
});
