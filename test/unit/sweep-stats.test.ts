// The seed-noise statistics of shared/sweep/stats.ts against values worked by hand and
// against a simulation of the interval's coverage.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../shared/rng.js';
import { spread, t975 } from '../../shared/sweep/stats.js';

describe('spread: the mean over seeds and its 95% interval', () => {
  it('three seeds 0.90, 0.92, 0.94: mean 0.92, sd 0.02, half-width 4.303·0.02/√3 = 0.04969', () => {
    const s = spread([0.9, 0.92, 0.94])!;
    expect(s.n).toBe(3);
    expect(s.mean).toBeCloseTo(0.92, 12);
    expect(s.sd).toBeCloseTo(0.02, 12);
    expect(s.hi - s.mean).toBeCloseTo((4.303 * 0.02) / Math.sqrt(3), 12);
    expect(s.mean - s.lo).toBeCloseTo(s.hi - s.mean, 12);
  });

  it('one seed: the value, no interval (lo = hi = mean); none, or only non-finite: null', () => {
    expect(spread([0.5])).toEqual({ n: 1, mean: 0.5, sd: 0, lo: 0.5, hi: 0.5 });
    expect(spread([])).toBeNull();
    expect(spread([null, Number.NaN, undefined])).toBeNull();
    expect(spread([0.5, null, Number.POSITIVE_INFINITY])!.n).toBe(1);
  });

  it('t975 follows the table: 12.706 at 1, 2.228 at 10, 2.042 at 30, 1.96 far out; < 1 is an error', () => {
    expect(t975(1)).toBe(12.706);
    expect(t975(10)).toBe(2.228);
    expect(t975(30)).toBe(2.042);
    expect(t975(1000)).toBe(1.96);
    expect(() => t975(0)).toThrow(RangeError);
  });

  it('covers the true mean of normal samples about 95% of the time (K = 3 and 5, 4,000 draws each)', () => {
    const rng = new Rng(7, 'coverage');
    for (const k of [3, 5]) {
      let hits = 0;
      const N = 4000;
      for (let i = 0; i < N; i++) {
        const s = spread(Array.from({ length: k }, () => 0.9 + 0.01 * rng.normal()))!;
        if (s.lo <= 0.9 && 0.9 <= s.hi) hits++;
      }
      // binomial sd at p = 0.95, N = 4000: 0.0034; ±4 sd
      expect(Math.abs(hits / N - 0.95)).toBeLessThan(0.014);
    }
  });
});
