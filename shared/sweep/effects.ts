// Which swept parameters changed the metric by more than seed-to-seed noise: the main-effect
// F-test of a full factorial grid trained with K ≥ 2 seeds per configuration (the within-
// configuration, seed-to-seed mean square as the error term), and the F distribution's upper tail
// through the regularized incomplete beta function (Numerical Recipes' continued fraction). Pure;
// read by the sweep report.
import { t975 } from './stats.js';
import type { SweepConfig, TrialRecord } from './types.js';

// ---- the F distribution -----------------------------------------------------------------------

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: ~15 significant digits) */
export function lnGamma(x: number): number {
  const C = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  const z = x - 1;
  let a = C[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += C[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** the continued fraction of the incomplete beta function (modified Lentz; Numerical Recipes' betacf) */
function betaCf(a: number, b: number, x: number): number {
  const TINY = 1e-300,
    EPS = 1e-15;
  const qab = a + b,
    qap = a + 1,
    qam = a - 1;
  let c = 1,
    d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) return h;
  }
  return h; // converged to well within the precision a report prints
}

/** the regularized incomplete beta function I_x(a, b), a, b > 0, 0 ≤ x ≤ 1 */
export function betaInc(a: number, b: number, x: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`betaInc: a = ${a}, b = ${b}; need > 0`);
  if (!(x >= 0 && x <= 1)) throw new RangeError(`betaInc: x = ${x}; need 0..1`);
  if (x === 0 || x === 1) return x;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // the fraction converges fast for x < (a+1)/(a+b+2); beyond, use I_x(a,b) = 1 - I_{1-x}(b,a)
  if (x < (a + 1) / (a + b + 2)) return (front * betaCf(a, b, x)) / a;
  return 1 - (front * betaCf(b, a, 1 - x)) / b;
}

/** P(F ≥ f) for F with (d1, d2) degrees of freedom: I_{d2/(d2+d1·f)}(d2/2, d1/2) */
export function fTail(f: number, d1: number, d2: number): number {
  if (!(d1 > 0 && d2 > 0)) throw new RangeError(`fTail: degrees of freedom (${d1}, ${d2}); need > 0`);
  if (Number.isNaN(f)) return NaN;
  if (f <= 0) return 1;
  if (f === Infinity) return 0;
  return betaInc(d2 / 2, d1 / 2, d2 / (d2 + d1 * f));
}

// ---- the main-effect F-test of a factorial grid -----------------------------------------------

/** the significance level of the report's verdicts */
export const ALPHA = 0.05;

export interface LevelMean {
  value: unknown;
  /** configurations with at least one value at this level */
  cells: number;
  /** seed values averaged (over its configurations) */
  n: number;
  /** the mean of its configurations' means */
  mean: number;
  /** 95% interval of that mean: ± t₀.₉₇₅(error df) · √(error mean square / observations per level) */
  lo: number;
  hi: number;
}

export interface FactorTest {
  path: string;
  levels: LevelMean[];
  /** highest minus lowest level mean */
  range: number;
  f: number;
  df1: number;
  df2: number;
  p: number;
  /** p < ALPHA: the effect is larger than the seed-to-seed noise */
  significant: boolean;
}

export type EffectsResult =
  | {
      ok: true;
      /** seeds per configuration: K when every configuration has all its seeds, else their harmonic mean */
      seedsPerCell: number;
      balanced: boolean;
      cells: number;
      /** the error term: the within-configuration (seed-to-seed) mean square and its df */
      msError: number;
      dfError: number;
      /** sd of one seed run around its configuration's mean (√msError) */
      seedSd: number;
      factors: FactorTest[];
    }
  | { ok: false; reason: string };

/** one observation per finished seed run: the trial's seed values, or its own value when it has
 *  no seeds (one seed) */
export function seedValues(t: TrialRecord, metric: 'valAccuracy' | 'value' = 'valAccuracy'): number[] {
  const ok = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
  if (t.seeds && t.seeds.length > 0)
    return t.seeds.filter((s) => s.status === 'finished' && ok(s[metric])).map((s) => s[metric] as number);
  return t.status === 'finished' && ok(t[metric]) ? [t[metric] as number] : [];
}

const key = (v: unknown): string => JSON.stringify(v) ?? 'undefined';

/**
 * Main-effect F-tests of a full factorial grid: every parameter a list of values, every
 * configuration (cell) of the grid with at least one finished seed run. The error term is the
 * pooled within-configuration variance (df = Σ(nᵢ − 1) = cells·(K − 1) when balanced); factor
 * A's sum of squares is ñ·(cells/a)·Σ(m_a − m)², m_a the mean of the configuration means at level
 * a and ñ the seeds per configuration (their harmonic mean if some seed runs are missing: the
 * unweighted-means analysis, exact when balanced). F = (SS_A/(a − 1)) / MS_error.
 */
export function mainEffects(
  config: Pick<SweepConfig, 'method' | 'parameters'>,
  trials: TrialRecord[],
  metric: 'valAccuracy' | 'value' = 'valAccuracy',
): EffectsResult {
  const params = Object.entries(config.parameters);
  if (config.method !== 'grid' || params.some(([, s]) => s.distribution !== 'values'))
    return {
      ok: false,
      reason: 'the sweep is not a full grid of listed values, so its configurations do not form a factorial design',
    };
  if (params.length === 0) return { ok: false, reason: 'the sweep varies no parameter' };
  const levels = params.map(([, s]) => (s.distribution === 'values' ? s.values : []));
  const nCells = levels.reduce((a, l) => a * l.length, 1);
  const cells = new Map<string, number[]>();
  for (const t of trials) {
    const k = params.map(([p]) => key(t.params[p])).join('\u0000');
    const vs = seedValues(t, metric);
    if (vs.length) cells.set(k, [...(cells.get(k) ?? []), ...vs]);
  }
  // every configuration of the grid, by its levels
  const grid: Array<{ at: number[]; values: number[] }> = [];
  const walk = (i: number, at: number[]): void => {
    if (i === params.length) {
      const k = at.map((li, d) => key(levels[d]![li])).join('\u0000');
      grid.push({ at, values: cells.get(k) ?? [] });
      return;
    }
    for (let li = 0; li < levels[i]!.length; li++) walk(i + 1, [...at, li]);
  };
  walk(0, []);
  const missing = grid.filter((c) => c.values.length === 0).length;
  if (missing > 0)
    return {
      ok: false,
      reason: `${missing} of the grid's ${nCells} configurations ${missing === 1 ? 'has' : 'have'} no finished run, so the grid is incomplete`,
    };
  const counts = grid.map((c) => c.values.length);
  const dfError = counts.reduce((a, n) => a + n - 1, 0);
  if (dfError === 0)
    return {
      ok: false,
      reason: 'every configuration was trained with one seed, so the seed-to-seed noise cannot be measured',
    };
  const means = grid.map((c) => c.values.reduce((a, b) => a + b, 0) / c.values.length);
  let ssError = 0;
  grid.forEach((c, i) => {
    for (const v of c.values) ssError += (v - means[i]!) ** 2;
  });
  const msError = ssError / dfError;
  const balanced = counts.every((n) => n === counts[0]);
  const nTilde = balanced ? counts[0]! : nCells / counts.reduce((a, n) => a + 1 / n, 0);
  const grand = means.reduce((a, b) => a + b, 0) / nCells;
  const half = t975(dfError);
  const factors = params.map(([path], d): FactorTest => {
    const a = levels[d]!.length;
    const perLevel = nCells / a;
    const lm: LevelMean[] = levels[d]!.map((value, li) => {
      const idx = grid.map((c, i) => (c.at[d] === li ? i : -1)).filter((i) => i >= 0);
      const m = idx.reduce((s, i) => s + means[i]!, 0) / idx.length;
      const n = idx.reduce((s, i) => s + counts[i]!, 0);
      const h = half * Math.sqrt(msError / (nTilde * perLevel));
      return { value, cells: idx.length, n, mean: m, lo: m - h, hi: m + h };
    });
    const ssA = nTilde * perLevel * lm.reduce((s, l) => s + (l.mean - grand) ** 2, 0);
    const df1 = a - 1;
    const ms = lm.map((l) => l.mean);
    const range = Math.max(...ms) - Math.min(...ms);
    if (df1 === 0) return { path, levels: lm, range, f: NaN, df1, df2: dfError, p: NaN, significant: false };
    // no seed-to-seed variation at all: any difference between levels is beyond noise
    const f = msError > 0 ? ssA / df1 / msError : ssA > 0 ? Infinity : 0;
    const p = fTail(f, df1, dfError);
    return { path, levels: lm, range, f, df1, df2: dfError, p, significant: p < ALPHA };
  });
  return {
    ok: true,
    seedsPerCell: nTilde,
    balanced,
    cells: nCells,
    msError,
    dfError,
    seedSd: Math.sqrt(msError),
    factors,
  };
}

/** "p < 0.001", "p = 0.012", "p = 0.45" */
export function fmtP(p: number): string {
  if (!Number.isFinite(p)) return 'p not defined';
  if (p < 0.001) return 'p < 0.001';
  return `p = ${p < 0.1 ? p.toFixed(3) : p < 0.995 ? p.toFixed(2) : '1.00'}`;
}

/** "F(2, 144) = 0.8" (one decimal; two below 1; "> 1000" beyond) */
export function fmtF(t: Pick<FactorTest, 'f' | 'df1' | 'df2'>): string {
  const v = !Number.isFinite(t.f) || t.f > 1000 ? '> 1000' : `= ${t.f < 1 ? t.f.toFixed(2) : t.f.toFixed(1)}`;
  return `F(${t.df1}, ${t.df2}) ${v}`;
}
