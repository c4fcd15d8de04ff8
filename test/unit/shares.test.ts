// How a step's microbatches are split among workers: in proportion to speed, with the cuts
// moved to aligned boundaries so that each worker's run is a few large gradient blocks.
import { describe, expect, it } from 'vitest';
import { alignCuts, shares } from '../../coordinator/cluster/shares.js';
import { alignedBlocks } from '../../shared/engine/reduce.js';
import { Rng } from '../../shared/rng.js';

const blocksOf = (counts: number[]): number => {
  let at = 0;
  return counts.reduce((sum, c) => {
    const b = alignedBlocks(at, at + c).length;
    at += c;
    return sum + b;
  }, 0);
};

describe('shares', () => {
  it('speeds within 15% split evenly; otherwise in proportion', () => {
    expect(shares(64, [100, 110])).toEqual([32, 32]);
    expect(shares(64, [100, 300])).toEqual([16, 48]);
  });

  it('a 35/29 split of 64 becomes 32/32: two gradient blocks instead of seven', () => {
    expect(blocksOf([35, 29])).toBe(7);
    expect(alignCuts([35, 29])).toEqual([32, 32]);
    expect(blocksOf([32, 32])).toBe(2);
  });

  it('alignCuts keeps the total and every share non-empty, with cuts at multiples of q within q/2 of the proportional ones', () => {
    const rng = new Rng(6, 'shares-test', 1);
    for (let t = 0; t < 500; t++) {
      const workers = 2 + rng.int(6);
      const counts = Array.from({ length: workers }, () => 1 + rng.int(60));
      const n = counts.reduce((a, b) => a + b, 0);
      const out = alignCuts(counts);
      expect(out.reduce((a, b) => a + b, 0)).toBe(n);
      for (const c of out) expect(c).toBeGreaterThan(0);
      let q = 1;
      while (q * 2 <= n / (4 * workers)) q *= 2;
      if (out === counts) continue; // kept: snapping would have emptied a share
      let a = 0;
      let b = 0;
      for (let i = 0; i < workers - 1; i++) {
        a += counts[i]!;
        b += out[i]!;
        expect(Math.abs(a - b)).toBeLessThanOrEqual(q / 2);
        expect(b % q === 0 || b === a).toBe(true);
      }
    }
  });
});
