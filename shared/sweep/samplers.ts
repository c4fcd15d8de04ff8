// Sweep samplers: which parameters trial `index` runs with. `suggest` is a pure function of the
// sweep config, the index and the trials in the history with a smaller index, so a resumed
// sweep recomputes the same suggestion. Randomness only from Rng streams named by the index.
//
//  - grid: the index-th point of the Cartesian product; parameters in the order written, the
//    last one varying fastest (values in the order listed, int from min to max); null past
//    the end.
//  - random: each parameter drawn from Rng(seed, 'sweep', index) in the order written:
//    uniform in [min, max), log_uniform = exp(uniform(log min, log max)), int uniform in
//    [min, max], values a uniform choice.
//  - tpe: random for index < tpe.startupTrials (or while fewer than 2 observations exist);
//    then a tree-structured Parzen estimator (Bergstra et al. 2011) as Optuna's TPESampler:
//     · split: the n observations ranked by the metric (ties: lower index first); the best
//       γ(n) are "good", the rest "bad". γ(n) = min(⌈0.1·n⌉, 25), or ⌈tpe.gamma·n⌉ when the
//       fraction tpe.gamma is set.
//     · constant liar (tpe.constantLiar, default on): trials in the history that are 'running'
//       or 'queued' enter as bad observations, as if at the worst value observed (ranked after
//       every observation; they do not count in n), so that concurrent suggestions spread.
//     · each group (oldest index first) gets weights: 1 each when it has fewer than 25
//       members; else the oldest m − 25 on a linear ramp from 1/m to 1 and the newest 25 at 1
//       (`tpeWeights`). Its Parzen estimator l (good) or g (bad) is a mixture of one component
//       per member with those weights plus a prior component of weight PRIOR_WEIGHT = 1, all
//       normalized to sum 1; an empty group is the prior alone.
//     · a component over a `values` parameter (K values): a member's puts (1/(m+1)) on every
//       value and 1 more on its own, normalized by 1 + K/(m+1); the prior's is uniform.
//     · a component over a numeric parameter, in its estimator space (log for log_uniform;
//       [min − ½, max + ½] for int): a Gaussian truncated to the space at the member's value,
//       σ = the larger gap to its sorted neighbours (the space's ends count as neighbours,
//       except on the outer side of the smallest and largest value when m ≥ 2), clipped to
//       [width / min(100, m + 2), width]; the prior's sits at the middle with σ = width. An int
//       value's density is the mass of [x − ½, x + ½], drawn values are rounded.
//     · tpe.candidates configurations are drawn from l with Rng(seed, 'tpe', index), every
//       parameter per candidate (per parameter its own component draw; tpe.multivariate: one
//       component for the whole configuration). Each is scored by log l(x) − log g(x), summed
//       over the parameters (multivariate: the log of the mixture of products); the best
//       score not already in the history wins (the first on ties; if every candidate is in
//       the history, the retries below apply).
//    A trial whose params do not fit the space (a value not listed, a number out of range)
//    is left out of the model before the split.
//  - narrow: rounds of perRound = ⌈trials / rounds⌉ trials; round r = ⌊index / perRound⌋.
//    Round 0 samples the configured ranges. Round r > 0 waits ('wait') until every trial of the
//    earlier rounds is finished, stopped or failed (a failed trial ends too and would otherwise
//    block the sweep forever); then it takes the best ⌈keep·n⌉ (at least 2) of the n observed
//    trials of the earlier rounds, and samples (as random does) from each numeric range shrunk
//    to [min, max] of those trials' values (log space for log_uniform), widened by 10% of that
//    width on each side (1% of the original width when the best agree on one value) and clipped
//    to the original range; int bounds are rounded outwards; values keep those seen among the
//    best (all, if none is). See `narrowedSpace`.
//
// Observations: trials finished, or stopped by ASHA (at their last value), with a finite value.
// No configuration is suggested twice (random, tpe, narrow): a draw equal to the params of a
// trial in the history is redrawn from Rng(seed, 'sweep', index, 'retry', k), k = 1..50; then,
// in a finite space, the point is chosen among those not yet tried (null when none is left;
// narrow first falls back from its shrunk space to the whole space).
import { Rng } from '../rng.js';
import { canonicalJson, spaceSize } from './config.js';
import type { ParamSpec, SweepConfig, TrialRecord } from './types.js';

type Params = Record<string, unknown>;
type Space = Record<string, ParamSpec>;
interface Obs {
  index: number;
  params: Params;
  value: number;
}

const RETRIES = 50;
/** finite spaces up to this size are enumerated when the retries find only duplicates */
const ENUMERATE_LIMIT = 200_000;

// ---- drawing ----

export function drawParam(spec: ParamSpec, rng: Rng): unknown {
  switch (spec.distribution) {
    case 'uniform':
      return rng.range(spec.min, spec.max);
    case 'log_uniform':
      return clamp(Math.exp(rng.range(Math.log(spec.min), Math.log(spec.max))), spec.min, spec.max);
    case 'int':
      return spec.min + rng.int(spec.max - spec.min + 1);
    case 'values':
      return structuredClone(spec.values[rng.int(spec.values.length)]);
  }
}

export function drawParams(space: Space, rng: Rng): Params {
  const out: Params = {};
  for (const [path, spec] of Object.entries(space)) out[path] = drawParam(spec, rng);
  return out;
}

/** the index-th point of the grid (last parameter fastest), null past its end */
export function gridPoint(space: Space, index: number): Params | null {
  if (!Number.isSafeInteger(index) || index < 0 || index >= spaceSize(space)) return null;
  const entries = Object.entries(space);
  const out: Params = {};
  let rest = index;
  for (let i = entries.length - 1; i >= 0; i--) {
    const [path, spec] = entries[i]!;
    const n = spec.distribution === 'values' ? spec.values.length : spec.max - spec.min + 1;
    const digit = rest % n;
    rest = Math.floor(rest / n);
    out[path] = spec.distribution === 'values' ? structuredClone(spec.values[digit]) : spec.min + digit;
  }
  return Object.fromEntries(entries.map(([path]) => [path, out[path]]));
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

// ---- history ----

function observations(history: TrialRecord[]): Obs[] {
  return history
    .filter(
      (t) =>
        (t.status === 'finished' || t.status === 'stopped') && typeof t.value === 'number' && Number.isFinite(t.value),
    )
    .map((t) => ({ index: t.index, params: t.params, value: t.value! }));
}

/** best first (by the metric's goal; ties by index) */
function ranked(cfg: SweepConfig, obs: Obs[]): Obs[] {
  const sign = cfg.metric.goal === 'maximize' ? -1 : 1;
  return [...obs].sort((a, b) => sign * (a.value - b.value) || a.index - b.index);
}

/** a draw not equal to any params in `past`; null when a finite space is exhausted */
function unique(
  cfg: SweepConfig,
  index: number,
  past: TrialRecord[],
  space: Space,
  draw: (rng: Rng) => Params,
  first: Rng,
): Params | null {
  const seen = new Set(past.map((t) => canonicalJson(t.params)));
  let p = draw(first);
  for (let k = 1; k <= RETRIES && seen.has(canonicalJson(p)); k++)
    p = draw(new Rng(cfg.seed, 'sweep', index, 'retry', k));
  if (!seen.has(canonicalJson(p))) return p;
  const size = spaceSize(space);
  if (size > ENUMERATE_LIMIT) return p; // practically never: a huge space whose 51 draws were all taken
  const left: Params[] = [];
  for (let i = 0; i < size; i++) {
    const q = gridPoint(space, i)!;
    if (!seen.has(canonicalJson(q))) left.push(q);
  }
  return left.length === 0 ? null : left[new Rng(cfg.seed, 'sweep', index, 'left').int(left.length)]!;
}

// ---- TPE ----

/** numeric parameter ↔ the space its estimator works in */
function bounds(s: Exclude<ParamSpec, { distribution: 'values' }>): [number, number] {
  if (s.distribution === 'log_uniform') return [Math.log(s.min), Math.log(s.max)];
  if (s.distribution === 'int') return [s.min - 0.5, s.max + 0.5];
  return [s.min, s.max];
}
const toX = (s: ParamSpec, v: number): number => (s.distribution === 'log_uniform' ? Math.log(v) : v);
function fromX(s: Exclude<ParamSpec, { distribution: 'values' }>, x: number): number {
  if (s.distribution === 'log_uniform') return clamp(Math.exp(x), s.min, s.max);
  if (s.distribution === 'int') return clamp(Math.round(x), s.min, s.max);
  return clamp(x, s.min, s.max);
}

/** the weight of the prior component of every Parzen estimator (Optuna's prior_weight) */
export const PRIOR_WEIGHT = 1;
/** the newest observations of a group that keep weight 1 (Optuna's default_weights) */
const FLAT_NEWEST = 25;

/** how many of n observations are "good": ⌈gamma·n⌉ with an explicit fraction, else Optuna's
 *  default min(⌈0.1·n⌉, 25) */
export function tpeGoodCount(n: number, gamma: number | null): number {
  const k = gamma === null ? Math.min(Math.ceil(0.1 * n), 25) : Math.ceil(gamma * n);
  return Math.min(n, k);
}

/** the weights of n observations ordered oldest first: all 1 below 25; else the oldest n − 25
 *  on a linear ramp from 1/n to 1 (endpoints included; one ramp weight is 1/n) and the newest
 *  25 at 1 */
export function tpeWeights(n: number): number[] {
  if (n < FLAT_NEWEST) return new Array<number>(n).fill(1);
  const r = n - FLAT_NEWEST;
  const ramp = Array.from({ length: r }, (_, i) => (r === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (r - 1)));
  return [...ramp, ...new Array<number>(FLAT_NEWEST).fill(1)];
}

/** one parameter of a Parzen estimator: per component (the observations in order, then the
 *  prior) a distribution over the parameter's internal value */
type Dim =
  | { kind: 'values'; probs: number[][] }
  | {
      kind: 'numeric';
      discrete: boolean;
      mus: number[];
      sigmas: number[];
      low: number;
      high: number;
      /** log of each component's Gaussian mass inside [low, high] */
      logZ: number[];
    };

/** a Parzen estimator: a weighted mixture of components, each a product over the parameters */
interface Mixture {
  weights: number[];
  logWeights: number[];
  dims: Dim[];
}

/** Categorical kernels: observation i puts PRIOR_WEIGHT/(m+1) on every value and 1 more on its
 *  own, normalized; the prior component is uniform. `observed` are value indices (0..K-1). */
function categoricalDim(observed: number[], K: number): Dim {
  const share = PRIOR_WEIGHT / (observed.length + 1);
  const rows = observed.map((k) => {
    const row = new Array<number>(K).fill(share / (1 + K * share));
    row[k] = (share + 1) / (1 + K * share);
    return row;
  });
  return { kind: 'values', probs: [...rows, new Array<number>(K).fill(1 / K)] };
}

/** Numeric kernels in the estimator's space (log for log_uniform; [min − ½, max + ½] for int):
 *  a truncated Gaussian at each observation whose σ is the larger gap to its sorted neighbours
 *  (the range's ends count as neighbours, except beside the smallest and the largest observation
 *  when there are two or more), clipped to [width / min(100, m + 2), width]; the prior
 *  component sits at the middle with σ = width. */
function numericDim(xs: number[], low: number, high: number, discrete: boolean): Dim {
  const width = high - low;
  const m = xs.length;
  const order = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]! || a - b);
  const s = [low, ...order.map((i) => xs[i]!), high];
  const minSigma = width / Math.min(100, m + 2);
  const sigmas = new Array<number>(m);
  order.forEach((i, r) => {
    let sigma = Math.max(s[r + 1]! - s[r]!, s[r + 2]! - s[r + 1]!);
    if (m >= 2 && r === 0) sigma = s[2]! - s[1]!;
    if (m >= 2 && r === m - 1) sigma = s[m]! - s[m - 1]!;
    sigmas[i] = clamp(sigma, minSigma, width);
  });
  const mus = [...xs, (low + high) / 2];
  sigmas.push(width);
  const logZ = mus.map((mu, j) => logGaussMass((low - mu) / sigmas[j]!, (high - mu) / sigmas[j]!));
  return { kind: 'numeric', discrete, mus, sigmas, low, high, logZ };
}

/** the components' centres and bandwidths over [low, high] for members at `xs` (the prior's
 *  last), as `numericDim` makes them */
export function numericParzen(xs: number[], low: number, high: number): { mus: number[]; sigmas: number[] } {
  const d = numericDim(xs, low, high, false) as Extract<Dim, { kind: 'numeric' }>;
  return { mus: d.mus, sigmas: d.sigmas };
}

/** a parameter value → the estimator's internal value (value index; log for log_uniform);
 *  null when the value does not fit the parameter's space */
function toInternal(spec: ParamSpec, v: unknown): number | null {
  if (spec.distribution === 'values') {
    const k = spec.values.findIndex((x) => canonicalJson(x) === canonicalJson(v));
    return k >= 0 ? k : null;
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v < spec.min || v > spec.max) return null;
  if (spec.distribution === 'int' && !Number.isInteger(v)) return null;
  return toX(spec, v);
}

function fromInternal(spec: ParamSpec, x: number): unknown {
  if (spec.distribution === 'values') return structuredClone(spec.values[x]);
  return fromX(spec, x);
}

/** the Parzen estimator of a group of trials (oldest first), each given as internal values */
function fitMixture(space: Space, group: number[][]): Mixture {
  const w = group.length === 0 ? [1] : [...tpeWeights(group.length), PRIOR_WEIGHT];
  const total = w.reduce((a, b) => a + b, 0);
  const weights = w.map((x) => x / total);
  const dims = Object.values(space).map((spec, d): Dim => {
    const xs = group.map((row) => row[d]!);
    if (spec.distribution === 'values') return categoricalDim(xs, spec.values.length);
    const [low, high] = bounds(spec);
    return numericDim(xs, low, high, spec.distribution === 'int');
  });
  return { weights, logWeights: weights.map(Math.log), dims };
}

/** the probability of each of K values under the Parzen estimator of a group whose members
 *  (oldest first) took the value indices `observed`: Σ over components of weight × kernel */
export function categoricalProbabilities(observed: number[], K: number): number[] {
  const values = Array.from({ length: K }, (_, k) => k);
  const mix = fitMixture(
    { v: { distribution: 'values', values } },
    observed.map((k) => [k]),
  );
  const dim = mix.dims[0] as Extract<Dim, { kind: 'values' }>;
  return values.map((k) => mix.weights.reduce((acc, w, j) => acc + w * dim.probs[j]![k]!, 0));
}

/** log of component j's density (numeric: continuous density; int: mass of [x − ½, x + ½]) */
function kernelLogPdf(dim: Dim, j: number, x: number): number {
  if (dim.kind === 'values') return Math.log(dim.probs[j]![x]!);
  const mu = dim.mus[j]!;
  const s = dim.sigmas[j]!;
  if (dim.discrete) return logGaussMass((x - 0.5 - mu) / s, (x + 0.5 - mu) / s) - dim.logZ[j]!;
  const z = (x - mu) / s;
  return -Math.log(s) - 0.5 * Math.log(2 * Math.PI) - 0.5 * z * z - dim.logZ[j]!;
}

function kernelDraw(dim: Dim, j: number, rng: Rng): number {
  if (dim.kind === 'values') return pick(dim.probs[j]!, rng);
  const mu = dim.mus[j]!;
  const s = dim.sigmas[j]!;
  let x = clamp(mu, dim.low, dim.high);
  for (let t = 0; t < 100; t++) {
    const y = mu + s * rng.normal();
    if (y >= dim.low && y <= dim.high) {
      x = y;
      break;
    }
  }
  return dim.discrete ? clamp(Math.round(x), dim.low + 0.5, dim.high - 0.5) : x;
}

/** an index drawn with the given probabilities (they sum to 1) */
function pick(p: number[], rng: Rng): number {
  let u = rng.uniform();
  let k = 0;
  while (k < p.length - 1 && u >= p[k]!) u -= p[k++]!;
  return k;
}

const logSumExp = (xs: number[]): number => {
  const m = Math.max(...xs);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(xs.reduce((acc, v) => acc + Math.exp(v - m), 0));
};

/** multivariate: one component for the whole configuration; else one per parameter */
function mixtureDraw(mix: Mixture, multivariate: boolean, rng: Rng): number[] {
  let j = multivariate ? pick(mix.weights, rng) : -1;
  return mix.dims.map((dim) => {
    if (!multivariate) j = pick(mix.weights, rng);
    return kernelDraw(dim, j, rng);
  });
}

/** log density of a configuration: multivariate, the mixture of products; else the sum over
 *  the parameters of each parameter's own mixture */
function mixtureLogPdf(mix: Mixture, multivariate: boolean, x: number[]): number {
  if (multivariate)
    return logSumExp(
      mix.logWeights.map((lw, j) => mix.dims.reduce((acc, dim, d) => acc + kernelLogPdf(dim, j, x[d]!), lw)),
    );
  return mix.dims.reduce(
    (acc, dim, d) => acc + logSumExp(mix.logWeights.map((lw, j) => lw + kernelLogPdf(dim, j, x[d]!))),
    0,
  );
}

/** erfc(x), Numerical Recipes' Chebyshev fit (fractional error < 1.2e-7 everywhere), as a log
 *  for x ≥ 0 so that far tails do not underflow */
function logErfc(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) - x * x + poly;
}

/** log Φ(z) for z ≤ 0 */
const logPhiLower = (z: number): number => Math.log(0.5) + logErfc(-z / Math.SQRT2);

/** log(Φ(b) − Φ(a)) for a < b, accurate in the tails */
export function logGaussMass(a: number, b: number): number {
  if (a >= 0) return logGaussMass(-b, -a);
  if (b <= 0) {
    const lb = logPhiLower(b);
    const r = Math.exp(logPhiLower(a) - lb);
    if (r < 1) return lb + Math.log1p(-r);
  } else {
    const m = 1 - Math.exp(logPhiLower(a)) - Math.exp(logPhiLower(-b));
    if (m > 0) return Math.log(m);
  }
  // a and b too close for the difference: the density at the middle times the width
  const c = (a + b) / 2;
  return Math.log(b - a) - 0.5 * Math.log(2 * Math.PI) - 0.5 * c * c;
}

interface Liar {
  index: number;
  params: Params;
}

/** One TPE suggestion (see the header). `seen`: canonical params already in the history. */
function tpeDraw(cfg: SweepConfig, obs: Obs[], liars: Liar[], seen: Set<string>, rng: Rng): Params {
  const space = cfg.parameters;
  const specs = Object.values(space);
  const paths = Object.keys(space);
  const internal = (p: Params): number[] | null => {
    const row: number[] = [];
    for (let d = 0; d < specs.length; d++) {
      const x = toInternal(specs[d]!, p[paths[d]!]);
      if (x === null) return null;
      row.push(x);
    }
    return row;
  };
  const fits = (t: Liar): boolean => internal(t.params) !== null;
  const sorted = ranked(cfg, obs.filter(fits));
  const nGood = tpeGoodCount(sorted.length, cfg.tpe.gamma);
  const rows = (group: Liar[]): number[][] =>
    [...group].sort((a, b) => a.index - b.index).map((t) => internal(t.params)!);
  const good = rows(sorted.slice(0, nGood));
  const bad = rows([...sorted.slice(nGood), ...(cfg.tpe.constantLiar ? liars.filter(fits) : [])]);
  const l = fitMixture(space, good);
  const g = fitMixture(space, bad);
  const mv = cfg.tpe.multivariate;
  let best: Params | null = null;
  let bestScore = -Infinity;
  let fallback: Params | null = null;
  let fallbackScore = -Infinity;
  for (let c = 0; c < cfg.tpe.candidates; c++) {
    const x = mixtureDraw(l, mv, rng);
    const score = mixtureLogPdf(l, mv, x) - mixtureLogPdf(g, mv, x);
    const p = Object.fromEntries(paths.map((path, d) => [path, fromInternal(specs[d]!, x[d]!)]));
    const fresh = !seen.has(canonicalJson(p));
    if (fresh && (best === null || score > bestScore)) [best, bestScore] = [p, score];
    if (fallback === null || score > fallbackScore) [fallback, fallbackScore] = [p, score];
  }
  return best ?? fallback!;
}

// ---- narrow ----

const perRound = (cfg: SweepConfig): number => Math.ceil(cfg.trials / cfg.narrow.rounds);

/** the search space of narrow's round `round`, from the trials of the earlier rounds */
export function narrowedSpace(cfg: SweepConfig, round: number, history: TrialRecord[]): Space {
  if (round <= 0) return cfg.parameters;
  const end = round * perRound(cfg);
  const obs = ranked(cfg, observations(history.filter((t) => t.index < end)));
  if (obs.length === 0) return cfg.parameters;
  const best = obs.slice(0, Math.min(obs.length, Math.max(2, Math.ceil(cfg.narrow.keep * obs.length))));
  const out: Space = {};
  for (const [path, spec] of Object.entries(cfg.parameters)) {
    if (spec.distribution === 'values') {
      const seen = new Set(best.map((o) => canonicalJson(o.params[path])));
      const kept = spec.values.filter((v) => seen.has(canonicalJson(v)));
      out[path] = { distribution: 'values', values: kept.length > 0 ? kept : spec.values };
      continue;
    }
    const xs = best
      .map((o) => o.params[path])
      .filter((v): v is number => typeof v === 'number' && Number.isFinite(v) && v >= spec.min && v <= spec.max)
      .map((v) => toX(spec, v));
    if (xs.length === 0) {
      out[path] = spec;
      continue;
    }
    const [olo, ohi] = [toX(spec, spec.min), toX(spec, spec.max)];
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    const margin = hi > lo ? 0.1 * (hi - lo) : 0.01 * (ohi - olo);
    let nlo = Math.max(olo, lo - margin);
    let nhi = Math.min(ohi, hi + margin);
    if (spec.distribution === 'int') {
      nlo = Math.max(spec.min, Math.floor(nlo));
      nhi = Math.min(spec.max, Math.ceil(nhi));
      out[path] = { distribution: 'int', min: nlo, max: nhi };
    } else if (spec.distribution === 'log_uniform') {
      out[path] = {
        distribution: 'log_uniform',
        min: clamp(Math.exp(nlo), spec.min, spec.max),
        max: clamp(Math.exp(nhi), spec.min, spec.max),
      };
    } else {
      out[path] = { distribution: 'uniform', min: nlo, max: nhi };
    }
  }
  return out;
}

// ---- the entry point ----

/** Trial `index`'s parameters; 'wait' when narrow needs earlier rounds to end first; null when
 *  the space has no untried point left (grid: index past the grid). The caller stops at
 *  cfg.trials. */
export function suggest(cfg: SweepConfig, index: number, history: TrialRecord[]): Params | 'wait' | null {
  const past = history.filter((t) => t.index < index);
  const seed = cfg.seed;
  const random = (): Params | null =>
    unique(cfg, index, past, cfg.parameters, (rng) => drawParams(cfg.parameters, rng), new Rng(seed, 'sweep', index));
  switch (cfg.method) {
    case 'grid':
      return gridPoint(cfg.parameters, index);
    case 'random':
      return random();
    case 'tpe': {
      const obs = observations(past);
      if (index < cfg.tpe.startupTrials || obs.length < 2) return random();
      const liars = past.filter((t) => t.status === 'running' || t.status === 'queued');
      const seen = new Set(past.map((t) => canonicalJson(t.params)));
      const draw = (rng: Rng): Params => tpeDraw(cfg, obs, liars, seen, rng);
      return unique(cfg, index, past, cfg.parameters, draw, new Rng(seed, 'tpe', index));
    }
    case 'narrow': {
      const round = Math.floor(index / perRound(cfg));
      if (round === 0) return random();
      const status = new Map(past.map((t) => [t.index, t.status]));
      for (let i = 0; i < round * perRound(cfg); i++) {
        const s = status.get(i);
        if (s !== 'finished' && s !== 'stopped' && s !== 'failed') return 'wait';
      }
      const space = narrowedSpace(cfg, round, past);
      return (
        unique(cfg, index, past, space, (rng) => drawParams(space, rng), new Rng(seed, 'sweep', index)) ?? random()
      );
    }
  }
}
