// Seed-to-seed noise: the mean of a configuration's K seed runs and its 95% confidence interval
// (Student's t with K-1 degrees of freedom: mean ± t₀.₉₇₅,K-1 · s/√K, s the sample standard
// deviation), and Welch's t-test for two groups of runs. Pure; used by the sweep scheduler, the
// samplers (they see the mean), the reports and the dashboard.

/** A metric over the seeds of one configuration. */
export interface Spread {
  /** seed runs with a finite value */
  n: number;
  mean: number;
  /** sample standard deviation (n - 1 in the denominator); 0 when n = 1 */
  sd: number;
  /** the 95% interval of the mean; lo = hi = mean when n = 1 (no estimate of the noise) */
  lo: number;
  hi: number;
}

/** t₀.₉₇₅ for 1..30 degrees of freedom (standard tables, 3 decimals) */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** the 0.975 quantile of Student's t with `dof` degrees of freedom (≥ 1); 1.96 beyond 30 is
 *  within 2% of the exact value (2.000 at 60, 1.980 at 120) */
export function t975(dof: number): number {
  if (!(dof >= 1)) throw new RangeError(`t975: ${dof} degrees of freedom; need >= 1`);
  const d = Math.floor(dof);
  if (d <= 30) return T975[d - 1]!;
  if (d <= 40) return 2.021;
  if (d <= 60) return 2.0;
  if (d <= 120) return 1.98;
  return 1.96;
}

/** mean, sd and 95% interval of the finite values; null when there is none */
export function spread(values: readonly (number | null | undefined)[]): Spread | null {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, sd: 0, lo: mean, hi: mean };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) * (x - mean), 0) / (n - 1));
  const half = (t975(n - 1) * sd) / Math.sqrt(n);
  return { n, mean, sd, lo: mean - half, hi: mean + half };
}
