// Share planning: how many of a step's microbatches each worker gets — in proportion to its
// measured speed, with the cuts between workers aligned so each worker's run tiles into a few
// large blocks. Pure.
import { largestRemainder } from '../../shared/apportion.js';

/** Split n microbatches among workers in proportion to their measured speeds (a worker not
 *  measured yet counts as the mean of the others). */
export function shares(n: number, speeds: number[]): number[] {
  const measured = speeds.filter((s) => s > 0);
  const mean = measured.length ? measured.reduce((a, b) => a + b, 0) / measured.length : 1;
  const w = speeds.map((s) => (s > 0 ? s : mean));
  // Speeds within 15% of each other are noise: an equal split keeps each worker's run aligned
  // (one gradient block each) instead of trading a few percent of balance for several blocks.
  const even = Math.max(...w) <= 1.15 * Math.min(...w);
  const counts = largestRemainder(n, even ? w.map(() => 1) : w);
  return even ? counts : alignCuts(counts);
}

/** Move the cuts between consecutive shares to multiples of q, the largest power of two of at
 *  most a quarter of an average share: a worker's run then tiles into a few large aligned
 *  blocks (less to send and to reduce) for at most q/2 microbatches of imbalance per cut.
 *  Shares stay in order, and none that was non-empty becomes empty. */
export function alignCuts(counts: number[]): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  let q = 1;
  while (q * 2 <= n / (4 * counts.length)) q *= 2;
  if (q === 1) return counts;
  const cuts: number[] = [];
  let at = 0;
  for (let i = 0; i < counts.length - 1; i++) {
    at += counts[i]!;
    const prev = cuts.length ? cuts[cuts.length - 1]! : 0;
    const snapped = Math.round(at / q) * q;
    cuts.push(snapped > prev || counts[i] === 0 ? Math.min(Math.max(snapped, prev), n) : at);
  }
  const out = cuts.map((c, i) => c - (i ? cuts[i - 1]! : 0));
  out.push(n - (cuts.length ? cuts[cuts.length - 1]! : 0));
  // a share that was non-empty must stay so (else keep the proportional split)
  return out.every((c, i) => c >= 0 && (counts[i] === 0 || c > 0)) ? out : counts;
}
