// The samplers part of `npm run bench` (BENCH_ONLY=samplers): how fast random, tpe and narrow
// find a good configuration, without training. Only `suggest` (shared/sweep/samplers.ts) runs.
//
// The objective is a table modelled on the lecture's exercise: dropout {0, 0.2, 0.5} ×
// activation {relu, sigmoid, tanh, gelu} × init {lecun_normal, xavier_uniform, he_normal} × norm
// {none, batch} (72 combinations) plus optimizer.lr log-uniform in [1e-4, 1e-1]. Validation
// accuracy = 0.90 + an effect per activation, dropout and batch norm (init: ±0.003), two
// interactions (batch norm rescues sigmoid; batch norm with dropout 0.5 loses a little), minus
// a quadratic penalty in log10 lr around an optimum (10^-2.7 without batch norm, 10^-2.3 with
// it), plus Gaussian noise of sd 0.002 drawn from Rng(seed, 'bench-noise', index). The best
// configuration (gelu, dropout 0.2, batch norm, he_normal, lr 10^-2.3) scores 0.973 before
// noise; see `accuracy`.
//
// Each method runs 60 trials per sampler seed (BENCH_SAMPLER_SEEDS seeds, default 100: seed 0..)
// at two concurrencies:
//  - 1: sequential, every trial finishes before the next is suggested;
//  - 4: four trials in flight; a trial is suggested while the three others are 'running' in the
//    history (value null), and the in-flight trials finish in a random order drawn from
//    Rng(seed, 'bench-finish'). narrow's 'wait' finishes in-flight trials until it goes on.
// "best after k" = the best observed value among trials 0..k-1. Printed per method and
// concurrency: the median over seeds of the best after 10/20/30/60 trials, the median over
// seeds of the trials needed to reach random's 60-trial median best (">60" when the median
// seed does not reach it), the median count of distinct categorical combinations among the 60
// trials, the share of trials 11..59 whose combination differs from the previous trial's, and
// the share of trials 10..59 with batch norm; then on how many seeds tpe's 60-trial
// best ≥ random's on the same seed. Besides the defaults, tpe is also run with
// `multivariate: true` and, at concurrency 4, with `constantLiar: false`.
import { parseRunConfig } from '../../shared/config.js';
import { Rng } from '../../shared/rng.js';
import { parseSweepConfig } from '../../shared/sweep/config.js';
import { suggest } from '../../shared/sweep/samplers.js';
import type { SweepConfig, TrialRecord } from '../../shared/sweep/types.js';
import { envNum, log, median, table } from './stats.js';

const TRIALS = 60;
const CHECKPOINTS = [10, 20, 30, 60];
const CONCURRENCIES = [1, 4];
const NOISE_SD = 0.002;

const PARAMETERS = {
  'model.dropout': { values: [0, 0.2, 0.5] },
  'model.activation': { values: ['relu', 'sigmoid', 'tanh', 'gelu'] },
  'model.init': { values: ['lecun_normal', 'xavier_uniform', 'he_normal'] },
  'model.norm': { values: ['none', 'batch'] },
  'optimizer.lr': { distribution: 'log_uniform', min: 1e-4, max: 1e-1 },
};

const ACTIVATION: Record<string, number> = { relu: 0.03, sigmoid: -0.02, tanh: 0.015, gelu: 0.035 };
const DROPOUT: Record<string, number> = { '0': 0, '0.2': 0.01, '0.5': -0.015 };

/** the noiseless validation accuracy of a configuration */
export function accuracy(p: Record<string, unknown>): number {
  const act = p['model.activation'] as string;
  const dropout = p['model.dropout'] as number;
  const batch = p['model.norm'] === 'batch';
  const init = p['model.init'] as string;
  const lr = p['optimizer.lr'] as number;
  let acc = 0.9 + ACTIVATION[act]! + DROPOUT[String(dropout)]! + (batch ? 0.025 : 0);
  if (batch && act === 'sigmoid') acc += 0.02;
  if (batch && dropout === 0.5) acc -= 0.01;
  const rectifier = act === 'relu' || act === 'gelu';
  if (init === 'he_normal') acc += rectifier ? 0.003 : -0.001;
  if (init === 'xavier_uniform') acc += rectifier ? -0.001 : 0.002;
  const opt = batch ? -2.3 : -2.7;
  return acc - 0.04 * (Math.log10(lr) - opt) ** 2;
}

interface Variant {
  name: string;
  method: 'random' | 'tpe' | 'narrow';
  tpe?: Record<string, unknown>;
  /** only at these concurrencies */
  only?: number[];
}

const VARIANTS: Variant[] = [
  { name: 'random', method: 'random' },
  { name: 'tpe', method: 'tpe' },
  { name: 'narrow', method: 'narrow' },
  { name: 'tpe multivariate', method: 'tpe', tpe: { multivariate: true } },
  { name: 'tpe no liar', method: 'tpe', tpe: { constantLiar: false }, only: [4] },
];

/** one sweep of TRIALS trials; returns the observed values by index and the params */
function runSweep(cfg: SweepConfig, concurrency: number): TrialRecord[] {
  const history: TrialRecord[] = [];
  const inFlight: TrialRecord[] = [];
  const finishOrder = new Rng(cfg.seed, 'bench-finish');
  const finish = (): void => {
    const k = finishOrder.int(inFlight.length);
    const t = inFlight.splice(k, 1)[0]!;
    const noise = new Rng(cfg.seed, 'bench-noise', t.index).normal() * NOISE_SD;
    t.value = accuracy(t.params) + noise;
    t.valAccuracy = t.value;
    t.status = 'finished';
  };
  for (let i = 0; i < TRIALS; ) {
    if (inFlight.length >= concurrency) {
      finish();
      continue;
    }
    const p = suggest(cfg, i, history);
    if (p === 'wait') {
      if (inFlight.length === 0) throw new Error(`${cfg.method}: trial ${i} waits with nothing in flight`);
      finish();
      continue;
    }
    if (p === null) throw new Error(`${cfg.method}: no suggestion for trial ${i}`);
    const t: TrialRecord = {
      index: i,
      params: p,
      status: 'running',
      value: null,
      valAccuracy: null,
      epochs: 1,
      curve: [],
    };
    history.push(t);
    inFlight.push(t);
    i++;
  }
  while (inFlight.length > 0) finish();
  return history;
}

interface Row {
  name: string;
  concurrency: number;
  /** per seed: best after each checkpoint */
  bests: number[][];
  /** per seed: the running best after 1..TRIALS trials */
  curves: number[][];
  combos: number[];
  changes: number[];
  batchShare: number[];
}

export interface SamplersBench {
  seeds: number;
  trials: number;
  seconds: number;
  /** random's 60-trial median best, per concurrency */
  target: Record<string, number>;
  rows: Array<{
    name: string;
    concurrency: number;
    medianBest: Record<string, number>;
    trialsToTarget: number | null;
    combos: number;
    changes: number;
    batchShare: number;
    seconds: number;
  }>;
  /** per concurrency: seeds on which tpe's 60-trial best ≥ random's */
  tpeAtLeastRandom: Record<string, number>;
}

export function runSamplersBench(): SamplersBench {
  const t0 = Date.now();
  const seeds = Math.round(envNum('BENCH_SAMPLER_SEEDS', 100));
  const base = parseRunConfig({});
  const rows: Array<Row & { seconds: number }> = [];
  for (const concurrency of CONCURRENCIES) {
    for (const v of VARIANTS) {
      if (v.only && !v.only.includes(concurrency)) continue;
      const t1 = Date.now();
      const cfg0 = parseSweepConfig(
        { method: v.method, trials: TRIALS, parameters: PARAMETERS, ...(v.tpe ? { tpe: v.tpe } : {}) },
        () => base,
      );
      const row: Row = { name: v.name, concurrency, bests: [], curves: [], combos: [], changes: [], batchShare: [] };
      for (let seed = 0; seed < seeds; seed++) {
        const h = runSweep({ ...cfg0, seed }, concurrency);
        const curve: number[] = [];
        let best = -Infinity;
        for (const t of h) {
          best = Math.max(best, t.value!);
          curve.push(best);
        }
        row.curves.push(curve);
        row.bests.push(CHECKPOINTS.map((k) => curve[k - 1]!));
        const key = (p: Record<string, unknown>): string =>
          JSON.stringify(
            Object.keys(PARAMETERS)
              .filter((k) => k !== 'optimizer.lr')
              .map((k) => p[k]),
          );
        row.combos.push(new Set(h.map((t) => key(t.params))).size);
        let changed = 0;
        for (let i = 11; i < TRIALS; i++) if (key(h[i]!.params) !== key(h[i - 1]!.params)) changed++;
        row.changes.push(changed / (TRIALS - 11));
        const late = h.slice(10);
        row.batchShare.push(late.filter((t) => t.params['model.norm'] === 'batch').length / late.length);
      }
      const seconds = (Date.now() - t1) / 1000;
      log(`  samplers: ${v.name} at concurrency ${concurrency}, ${seeds} seeds: ${seconds.toFixed(1)} s`);
      rows.push({ ...row, seconds });
    }
  }
  const target: Record<string, number> = {};
  const tpeAtLeastRandom: Record<string, number> = {};
  for (const c of CONCURRENCIES) {
    const random = rows.find((r) => r.name === 'random' && r.concurrency === c)!;
    const tpe = rows.find((r) => r.name === 'tpe' && r.concurrency === c)!;
    target[c] = median(random.curves.map((cv) => cv[TRIALS - 1]!));
    tpeAtLeastRandom[c] = tpe.curves.filter((cv, s) => cv[TRIALS - 1]! >= random.curves[s]![TRIALS - 1]!).length;
  }
  return {
    seeds,
    trials: TRIALS,
    seconds: (Date.now() - t0) / 1000,
    target,
    tpeAtLeastRandom,
    rows: rows.map((r) => {
      const needed = r.curves.map((cv) => {
        const k = cv.findIndex((b) => b >= target[r.concurrency]!);
        return k < 0 ? Infinity : k + 1;
      });
      const m = median(needed);
      return {
        name: r.name,
        concurrency: r.concurrency,
        medianBest: Object.fromEntries(CHECKPOINTS.map((k, i) => [k, median(r.bests.map((b) => b[i]!))])),
        trialsToTarget: Number.isFinite(m) ? m : null,
        combos: median(r.combos),
        changes: median(r.changes),
        batchShare: median(r.batchShare),
        seconds: r.seconds,
      };
    }),
  };
}

export function printSamplers(b: SamplersBench): void {
  const rows = b.rows.map((r) => [
    r.name,
    String(r.concurrency),
    ...CHECKPOINTS.map((k) => r.medianBest[k]!.toFixed(4)),
    r.trialsToTarget === null ? `>${b.trials}` : String(r.trialsToTarget),
    String(r.combos),
    `${(100 * r.changes).toFixed(0)}%`,
    `${(100 * r.batchShare).toFixed(0)}%`,
  ]);
  process.stdout.write(
    `\n${table(
      [
        `samplers (synthetic lecture objective, ${b.seeds} seeds × ${b.trials} trials)`,
        'conc.',
        ...CHECKPOINTS.map((k) => `best@${k}`),
        'trials to random@60',
        'combos',
        'changed 11..59',
        'batch norm 10..59',
      ],
      rows,
    )}\n`,
  );
  const cs = Object.keys(b.target);
  process.stdout.write(
    `(medians over seeds; random's 60-trial median best: ${cs.map((c) => `${b.target[c]!.toFixed(4)} at concurrency ${c}`).join(', ')};\n` +
      ` tpe's 60-trial best ≥ random's on the same seed: ${cs.map((c) => `${b.tpeAtLeastRandom[c]}/${b.seeds} at concurrency ${c}`).join(', ')};\n` +
      ` combos: distinct categorical combinations of 72 among the 60 trials; changed: trials 11..59 whose combination\n` +
      ` differs from the previous trial's; ${b.seconds.toFixed(1)} s)\n`,
  );
}
