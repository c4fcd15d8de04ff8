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
//    then a tree-structured Parzen estimator (Bergstra et al. 2011, Optuna's flavour),
//    independent per parameter: the observations are split at the gamma quantile of the metric
//    (the best ⌈gamma·n⌉ are "good", the rest "bad"); numeric parameters get a mixture of
//    truncated Gaussians (one per observation plus a prior one at the middle of the range with
//    the range's width; each σ the larger gap to its sorted neighbours, clipped to
//    [width/min(100, 1+m), width]) in log space for log_uniform and over [min-0.5, max+0.5]
//    for int; values get smoothed frequencies (count + 1/K) / (n + 1). `tpe.candidates` draws
//    from l (the good model) with Rng(seed, 'tpe', index); the one maximizing l(x)/g(x) wins.
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

interface Parzen {
  mus: number[];
  sigmas: number[];
  low: number;
  high: number;
}

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

function fitParzen(xs: number[], low: number, high: number): Parzen {
  const width = high - low;
  const comps = [...xs.map((mu) => ({ mu, prior: false })), { mu: (low + high) / 2, prior: true }].sort(
    (a, b) => a.mu - b.mu,
  );
  const e = [low, ...comps.map((c) => c.mu), high];
  const minSigma = width / Math.min(100, 1 + comps.length);
  const sigmas = comps.map((c, i) =>
    c.prior ? width : clamp(Math.max(e[i + 1]! - e[i]!, e[i + 2]! - e[i + 1]!), minSigma, width),
  );
  return { mus: comps.map((c) => c.mu), sigmas, low, high };
}

/** erf, Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7) */
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}
const Phi = (z: number): number => 0.5 * (1 + erf(z / Math.SQRT2));

function logPdf(p: Parzen, x: number): number {
  const logs = p.mus.map((mu, i) => {
    const s = p.sigmas[i]!;
    const z = (x - mu) / s;
    const mass = Math.max(Phi((p.high - mu) / s) - Phi((p.low - mu) / s), 1e-300);
    return -Math.log(s) - 0.5 * Math.log(2 * Math.PI) - 0.5 * z * z - Math.log(mass);
  });
  const m = Math.max(...logs);
  return m + Math.log(logs.reduce((acc, l) => acc + Math.exp(l - m), 0)) - Math.log(logs.length);
}

function sampleParzen(p: Parzen, rng: Rng): number {
  const i = rng.int(p.mus.length);
  for (let t = 0; t < 100; t++) {
    const x = p.mus[i]! + p.sigmas[i]! * rng.normal();
    if (x >= p.low && x <= p.high) return x;
  }
  return clamp(p.mus[i]!, p.low, p.high);
}

function tpeDraw(cfg: SweepConfig, obs: Obs[], rng: Rng): Params {
  const sorted = ranked(cfg, obs);
  const nGood = Math.max(1, Math.ceil(cfg.tpe.gamma * sorted.length));
  const good = sorted.slice(0, nGood);
  const bad = sorted.slice(nGood);
  const out: Params = {};
  for (const [path, spec] of Object.entries(cfg.parameters)) {
    if (spec.distribution === 'values') {
      const keys = spec.values.map(canonicalJson);
      const K = keys.length;
      const freq = (group: Obs[]): number[] => {
        const c = new Array<number>(K).fill(1 / K);
        for (const o of group) {
          const k = keys.indexOf(canonicalJson(o.params[path]));
          if (k >= 0) c[k]! += 1;
        }
        const total = c.reduce((a, b) => a + b, 0);
        return c.map((v) => v / total);
      };
      const l = freq(good);
      const g = freq(bad);
      let best = -1;
      let bestScore = -Infinity;
      for (let c = 0; c < cfg.tpe.candidates; c++) {
        let u = rng.uniform();
        let k = 0;
        while (k < K - 1 && u >= l[k]!) u -= l[k++]!;
        const score = Math.log(l[k]!) - Math.log(g[k]!);
        if (score > bestScore) {
          bestScore = score;
          best = k;
        }
      }
      out[path] = structuredClone(spec.values[best]);
    } else {
      const [low, high] = bounds(spec);
      const xsOf = (group: Obs[]): number[] =>
        group
          .map((o) => o.params[path])
          .filter((v): v is number => typeof v === 'number' && Number.isFinite(v) && v >= spec.min && v <= spec.max)
          .map((v) => toX(spec, v));
      const l = fitParzen(xsOf(good), low, high);
      const g = fitParzen(xsOf(bad), low, high);
      let best = NaN;
      let bestScore = -Infinity;
      for (let c = 0; c < cfg.tpe.candidates; c++) {
        const v = fromX(spec, sampleParzen(l, rng));
        const x = toX(spec, v);
        const score = logPdf(l, x) - logPdf(g, x);
        if (score > bestScore || Number.isNaN(best)) {
          bestScore = score;
          best = v;
        }
      }
      out[path] = best;
    }
  }
  return out;
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
      return unique(cfg, index, past, cfg.parameters, (rng) => tpeDraw(cfg, obs, rng), new Rng(seed, 'tpe', index));
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
