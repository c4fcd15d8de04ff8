// Timing and summary helpers for the benchmark: medians, a time-budgeted repetition runner,
// a seeded random source and fixed-width table formatting. No dependencies.
import { performance } from 'node:perf_hooks';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** min and max, to show the spread of the repetitions next to the median */
export function spread(xs: readonly number[]): { min: number; max: number } {
  return { min: Math.min(...xs), max: Math.max(...xs) };
}

export function now(): number {
  return performance.now();
}

/** One repetition: run `fn` until at least `minSeconds` have passed (and at least `minIters`
 *  calls). Returns the number of calls and the elapsed seconds. */
export function timeRep(fn: () => void, minSeconds: number, minIters = 1): { iters: number; seconds: number } {
  let iters = 0;
  const t0 = now();
  let t = t0;
  while (iters < minIters || t - t0 < minSeconds * 1000) {
    fn();
    iters++;
    t = now();
  }
  return { iters, seconds: (t - t0) / 1000 };
}

/** Exactly `n` calls, timed together. */
export function timeN(fn: () => void, n: number): number {
  const t0 = now();
  for (let i = 0; i < n; i++) fn();
  return (now() - t0) / 1000;
}

/** A competitor in an interleaved comparison: `rep()` runs one timed repetition and returns
 *  its rate (higher is better). */
export interface Contender {
  name: string;
  rep: () => number;
}

/** Run `reps` repetitions of each contender, interleaved (a, b, b, a, a, b, ...) so that slow
 *  drifts of a shared machine hit both sides equally. Returns the rates per contender. */
export function interleave(
  contenders: readonly Contender[],
  reps: number,
  progress?: (msg: string) => void,
): number[][] {
  const rates: number[][] = contenders.map(() => []);
  for (let r = 0; r < reps; r++) {
    const order = contenders.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const rate = contenders[i]!.rep();
      rates[i]!.push(rate);
      progress?.(`  rep ${r + 1}/${reps} ${contenders[i]!.name}: ${fmt(rate)}`);
    }
  }
  return rates;
}

/** mulberry32: a small seeded uniform generator in [0, 1) */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, rand: () => number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

/** three significant digits, no exponent for the ranges a benchmark prints */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** a plain-text table: first column left-aligned, the others right-aligned */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((s, c) => (c === 0 ? s.padEnd(widths[c]!) : s.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** progress lines go to stderr, results to stdout */
export const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

/** a positive number from the environment, or the default */
export const envNum = (name: string, dflt: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
