// The sweep part of `npm run bench`: hyperparameter sweeps through the real CLI
// (`node --import tsx bin/gradwire.js sweep --config F [pool flags] --log-format json`, a child
// process per sweep, its workers its own children).
//
// 1. Throughput: the lecture preset's sweep cut to 8 of its 72 trials (its run: MNIST, MLP
//    784-64-64-10, Adam, batch 128, 2 epochs; a grid over dropout {0, 0.5} × activation {relu,
//    tanh} × init he_normal × norm {none, batch}) on three pools: one thread (--threads 1), the
//    defaults (no flag: this process's threads, every CPU a trial seat) and two single-thread
//    worker processes (--workers 2 --threads 1). Concurrency = the pool's threads.
//    Trials per hour = trials / wall time, from summary.json's `wallSeconds` (the sweep itself:
//    data loading, every trial, the final test evaluation and the report) and from the process
//    (adds node/tsx start-up and the workers' start-up). Repetitions interleaved (forwards,
//    backwards, ...), medians reported.
// 2. ASHA against plain random on the same space and seed: 12 random trials of 6 epochs with
//    optimizer.lr ~ log_uniform [1e-4, 1] (so many trials are bad), with and without
//    `earlyStopping: { type: asha, minEpochs: 1, reductionFactor: 3 }`. One worker,
//    concurrency 1, so the trials run in index order and ASHA's decisions do not depend on
//    timing: both sweeps draw the same parameters, train the same epochs the same way, and the
//    counts are deterministic (one run of each). From each sweep: the epochs trained
//    (summary.json `epochsTrained`, checked against trials.csv and the trials' epochs.csv), the
//    best validation accuracy of any epoch (trials/<i>/epochs.csv), and the epochs spent,
//    counting in trial index order, until the sweep first reached the target: the best
//    validation accuracy BOTH sweeps reached (the smaller of the two bests).
//
// Environment: BENCH_SWEEP_REPS (repetitions of each throughput sweep, default 2).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LECTURE_PRESET } from '../../shared/sweep/presets.js';
import { envNum, fmt, log, median, spread, table } from './stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin/gradwire.js');

/** the run every trial starts from: MNIST (built in, 10,000 digits, split 0.8/0.1/0.1), a
 *  784-64-10 MLP, batch 128 */
const BASE_RUN = { seed: 1, data: { name: 'mnist' }, model: { hidden: [64] }, batchSize: 128 };
const SWEEP_SEED = 7;

const THROUGHPUT = {
  dataset: 'mnist',
  trials: 8,
  epochs: LECTURE_PRESET.run.epochs,
  config: {
    run: LECTURE_PRESET.run,
    method: 'grid',
    metric: LECTURE_PRESET.metric,
    parameters: {
      'model.dropout': { values: [0, 0.5] },
      'model.activation': { values: ['relu', 'tanh'] },
      'model.init': { values: ['he_normal'] },
      'model.norm': { values: ['none', 'batch'] },
    },
  },
};

/** the pools the throughput sweep runs on: a name and the CLI's flags */
const POOLS: Array<{ name: string; args: string[] }> = [
  { name: '1 thread', args: ['--threads', '1'] },
  { name: 'defaults', args: [] },
  { name: '2 worker processes × 1 thread', args: ['--workers', '2', '--threads', '1'] },
];

const ASHA_EPOCHS = 6;
const ASHA_TRIALS = 12;
const EARLY_STOPPING = { type: 'asha', minEpochs: 1, reductionFactor: 3 };
const ashaConfig = (asha: boolean): Record<string, unknown> => ({
  run: { ...BASE_RUN, epochs: ASHA_EPOCHS },
  method: 'random',
  metric: { name: 'valAccuracy', goal: 'maximize' },
  trials: ASHA_TRIALS,
  concurrency: 1,
  seed: SWEEP_SEED,
  parameters: {
    'optimizer.lr': { distribution: 'log_uniform', min: 0.0001, max: 1 },
    'model.activation': { values: ['relu', 'tanh', 'sigmoid'] },
  },
  ...(asha ? { earlyStopping: EARLY_STOPPING } : {}),
});

interface SweepSummaryJson {
  trials: number;
  finished: number;
  stopped: number;
  failed: number;
  best: { index: number; valAccuracy: number | null; testAccuracy: number | null } | null;
  epochsTrained: number;
  wallSeconds: number;
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', rej);
    child.on('close', (code) => res({ code, stdout, stderr }));
  });
}

/** One sweep through the CLI; returns its out dir (the caller removes it), summary and wall time. */
async function runSweepCli(
  dir: string,
  tag: string,
  config: unknown,
  pool: string[],
): Promise<{ out: string; summary: SweepSummaryJson; processSeconds: number }> {
  const file = join(dir, `${tag}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  const out = join(dir, tag);
  const t0 = performance.now();
  const r = await runCli(['sweep', '--config', file, ...pool, '--out', out, '--log-format', 'json']);
  const processSeconds = (performance.now() - t0) / 1000;
  if (r.code !== 0)
    throw new Error(
      `gradwire sweep (${tag}, ${pool.join(' ') || 'defaults'}) exited with ${r.code}:\n${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`,
    );
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as SweepSummaryJson;
  if (summary.failed > 0) throw new Error(`gradwire sweep (${tag}): ${summary.failed} trial(s) failed`);
  return { out, summary, processSeconds };
}

/** RFC 4180 CSV (trials.csv quotes its JSON parameter cells) */
export function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else if (ch !== '\r') cell += ch;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  const [header, ...body] = rows;
  if (!header) return [];
  return body
    .filter((r) => r.length > 1 || r[0] !== '')
    .map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

// ---------------------------------------------------------------- 1. throughput

export interface ThroughputCell {
  pool: string;
  /** medians over the repetitions */
  trialsPerHour: number;
  processTrialsPerHour: number;
  wallSeconds: number;
  processSeconds: number;
  bestValAccuracy: number;
  reps: Array<{
    wallSeconds: number;
    processSeconds: number;
    trialsPerHour: number;
    processTrialsPerHour: number;
    bestValAccuracy: number | null;
  }>;
}

async function benchThroughput(
  dir: string,
  reps: number,
): Promise<{ cells: ThroughputCell[]; ratio: number; processRatio: number }> {
  const modes = POOLS.map((p) => p.name);
  const runs = new Map<string, ThroughputCell['reps']>(modes.map((w) => [w, []]));
  log(
    `sweep throughput: the lecture preset cut to ${THROUGHPUT.trials} trials (MNIST 784-64-64-10, ${THROUGHPUT.epochs} epochs, batch 128); pools: ${modes.join(', ')}; ${reps} repetitions interleaved`,
  );
  for (let r = 0; r < reps; r++) {
    for (const w of r % 2 ? [...modes].reverse() : modes) {
      const pool = POOLS.find((p) => p.name === w)!.args;
      const { out, summary, processSeconds } = await runSweepCli(
        dir,
        `tp-r${r}-${modes.indexOf(w)}`,
        THROUGHPUT.config,
        pool,
      );
      rmSync(out, { recursive: true, force: true });
      if (summary.trials !== THROUGHPUT.trials)
        throw new Error(`throughput sweep: ${summary.trials} trials, expected ${THROUGHPUT.trials}`);
      const rep = {
        wallSeconds: summary.wallSeconds,
        processSeconds,
        trialsPerHour: (summary.trials / summary.wallSeconds) * 3600,
        processTrialsPerHour: (summary.trials / processSeconds) * 3600,
        bestValAccuracy: summary.best?.valAccuracy ?? null,
      };
      runs.get(w)!.push(rep);
      log(
        `  rep ${r + 1}/${reps} ${w}: ${fmt(rep.trialsPerHour)} trials/h (sweep ${fmt(rep.wallSeconds)} s, process ${fmt(processSeconds)} s), best val acc ${fmt(rep.bestValAccuracy ?? NaN)}`,
      );
    }
  }
  const cells = modes.map((w): ThroughputCell => {
    const rs = runs.get(w)!;
    const med = (f: (x: ThroughputCell['reps'][number]) => number): number => median(rs.map(f));
    return {
      pool: w,
      trialsPerHour: med((x) => x.trialsPerHour),
      processTrialsPerHour: med((x) => x.processTrialsPerHour),
      wallSeconds: med((x) => x.wallSeconds),
      processSeconds: med((x) => x.processSeconds),
      bestValAccuracy: med((x) => x.bestValAccuracy ?? NaN),
      reps: rs,
    };
  });
  return {
    cells,
    ratio: cells[1]!.trialsPerHour / cells[0]!.trialsPerHour,
    processRatio: cells[1]!.processTrialsPerHour / cells[0]!.processTrialsPerHour,
  };
}

// ---------------------------------------------------------------- 2. ASHA vs random

interface TrialCurve {
  index: number;
  status: string;
  epochs: number;
  valAccuracy: number[];
}

export interface AshaSide {
  name: string;
  trials: number;
  finished: number;
  stopped: number;
  epochsTrained: number;
  /** the best validation accuracy of any epoch of any trial */
  bestValAccuracy: number;
  /** the best trial by the sweep's own rule (its last evaluated epoch) */
  bestTrial: number | null;
  bestTrialValAccuracy: number | null;
  bestTrialTestAccuracy: number | null;
  /** epochs, in trial index order, until an epoch reached the common target */
  epochsToTarget: number;
  wallSeconds: number;
  epochsPerTrial: number[];
}

function readCurves(out: string): TrialCurve[] {
  const trials = parseCsv(readFileSync(join(out, 'trials.csv'), 'utf8'));
  return trials
    .map((t) => {
      const index = Number(t.id);
      const path = join(out, 'trials', String(index), 'epochs.csv');
      const rows = existsSync(path) ? parseCsv(readFileSync(path, 'utf8')) : [];
      rows.sort((a, b) => Number(a.epoch) - Number(b.epoch));
      const valAccuracy = rows.map((r) => Number(r.valAccuracy));
      const epochs = Number(t.epochs);
      if (valAccuracy.length !== epochs)
        throw new Error(
          `${out}: trial ${index}: trials.csv says ${epochs} epochs, epochs.csv has ${valAccuracy.length}`,
        );
      return { index, status: t.status ?? '', epochs, valAccuracy };
    })
    .sort((a, b) => a.index - b.index);
}

/** epochs spent, trials in index order and each trial's epochs in order, until the first epoch
 *  with validation accuracy ≥ target (NaN if never) */
function epochsUntil(curves: TrialCurve[], target: number): number {
  let spent = 0;
  for (const c of curves) {
    for (const acc of c.valAccuracy) {
      spent++;
      if (acc >= target) return spent;
    }
  }
  return NaN;
}

export interface AshaBench {
  epochs: number;
  trials: number;
  earlyStopping: typeof EARLY_STOPPING;
  target: number;
  random: AshaSide;
  asha: AshaSide;
  /** asha / random */
  epochsTrainedRatio: number;
  epochsToTargetRatio: number;
  /** both sweeps drew the same parameters (same seed) */
  sameParams: boolean;
}

async function benchAsha(dir: string): Promise<AshaBench> {
  log(
    `ASHA vs random: ${ASHA_TRIALS} random trials × ${ASHA_EPOCHS} epochs, lr ~ log_uniform [1e-4, 1], seed ${SWEEP_SEED}, 1 worker, concurrency 1; with and without ASHA (minEpochs 1, rf 3)`,
  );
  const sides: Array<{ side: AshaSide; curves: TrialCurve[]; params: string }> = [];
  for (const asha of [false, true]) {
    const name = asha ? 'random + ASHA' : 'random';
    const { out, summary } = await runSweepCli(dir, asha ? 'asha' : 'random', ashaConfig(asha), [
      '--workers',
      '1',
      '--threads',
      '1',
    ]);
    const curves = readCurves(out);
    const trialsCsv = readFileSync(join(out, 'trials.csv'), 'utf8');
    const params = parseCsv(trialsCsv)
      .map((t) => `${t.id}:${t['optimizer.lr']}:${t['model.activation']}`)
      .join('|');
    rmSync(out, { recursive: true, force: true });
    const total = curves.reduce((a, c) => a + c.epochs, 0);
    if (total !== summary.epochsTrained)
      throw new Error(
        `${name}: summary.json epochsTrained ${summary.epochsTrained}, the trials' epochs.csv add up to ${total}`,
      );
    const side: AshaSide = {
      name,
      trials: summary.trials,
      finished: summary.finished,
      stopped: summary.stopped,
      epochsTrained: summary.epochsTrained,
      bestValAccuracy: Math.max(...curves.flatMap((c) => c.valAccuracy.filter(Number.isFinite))),
      bestTrial: summary.best?.index ?? null,
      bestTrialValAccuracy: summary.best?.valAccuracy ?? null,
      bestTrialTestAccuracy: summary.best?.testAccuracy ?? null,
      epochsToTarget: NaN,
      wallSeconds: summary.wallSeconds,
      epochsPerTrial: curves.map((c) => c.epochs),
    };
    log(
      `  ${name}: ${side.trials} trials (${side.finished} finished, ${side.stopped} stopped), ${side.epochsTrained} epochs [${side.epochsPerTrial.join(' ')}], ` +
        `best val acc ${fmt(side.bestValAccuracy)}, ${fmt(side.wallSeconds)} s`,
    );
    sides.push({ side, curves, params });
  }
  const [rnd, ash] = sides as [(typeof sides)[0], (typeof sides)[0]];
  const target = Math.min(rnd.side.bestValAccuracy, ash.side.bestValAccuracy);
  for (const s of sides) s.side.epochsToTarget = epochsUntil(s.curves, target);
  return {
    epochs: ASHA_EPOCHS,
    trials: ASHA_TRIALS,
    earlyStopping: EARLY_STOPPING,
    target,
    random: rnd.side,
    asha: ash.side,
    epochsTrainedRatio: ash.side.epochsTrained / rnd.side.epochsTrained,
    epochsToTargetRatio: ash.side.epochsToTarget / rnd.side.epochsToTarget,
    sameParams: rnd.params === ash.params,
  };
}

// ---------------------------------------------------------------- main

export interface SweepBench {
  dataset: string;
  reps: number;
  seconds: number;
  throughput: {
    trials: number;
    epochs: number;
    cells: ThroughputCell[];
    ratio: number;
    processRatio: number;
  };
  asha: AshaBench;
}

export async function runSweepBench(): Promise<SweepBench> {
  const t0 = Date.now();
  const reps = Math.round(envNum('BENCH_SWEEP_REPS', 2));
  const dir = mkdtempSync(join(tmpdir(), 'gradwire-bench-sweep-'));
  try {
    const tp = await benchThroughput(dir, reps);
    const asha = await benchAsha(dir);
    return {
      dataset: THROUGHPUT.dataset,
      reps,
      seconds: (Date.now() - t0) / 1000,
      throughput: { trials: THROUGHPUT.trials, epochs: THROUGHPUT.epochs, ...tp },
      asha,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printSweep(s: SweepBench): void {
  const tp = s.throughput;
  process.stdout.write(
    `\n${table(
      [
        `sweep throughput (the lecture preset cut to ${tp.trials} trials × ${tp.epochs} epochs)`,
        'flags',
        'trials/h',
        'sweep s',
        'trials/h (process)',
        'process s',
        'best val acc',
      ],
      [
        ...tp.cells.map((c) => [
          c.pool,
          POOLS.find((p) => p.name === c.pool)!.args.join(' ') || '(none)',
          fmt(c.trialsPerHour),
          fmt(c.wallSeconds),
          fmt(c.processTrialsPerHour),
          fmt(c.processSeconds),
          fmt(c.bestValAccuracy),
        ]),
        ['ratio defaults / 1 thread', '', fmt(tp.ratio), '', fmt(tp.processRatio), '', ''],
      ],
    )}\n`,
  );
  process.stdout.write(
    `(medians of ${s.reps} interleaved repetitions of the real CLI; trials/h from summary.json wallSeconds, (process) from the CLI process's wall time; spread of trials/h min–max:\n`,
  );
  for (const c of tp.cells) {
    const sp = spread(c.reps.map((r) => r.trialsPerHour));
    process.stdout.write(`  ${c.pool}: ${fmt(sp.min)}–${fmt(sp.max)}\n`);
  }
  process.stdout.write(')\n');

  const a = s.asha;
  const row = (x: AshaSide): string[] => [
    x.name,
    String(x.trials),
    String(x.finished),
    String(x.stopped),
    String(x.epochsTrained),
    fmt(x.bestValAccuracy),
    fmt(x.epochsToTarget),
    fmt(x.wallSeconds),
  ];
  process.stdout.write(
    `\n${table(
      [
        `ASHA vs random (MNIST 784-64-10, ${a.trials} trials × ≤${a.epochs} epochs, lr log_uniform [1e-4, 1])`,
        'trials',
        'finished',
        'stopped',
        'epochs',
        'best val acc',
        'epochs to target',
        'sweep s',
      ],
      [
        row(a.random),
        row(a.asha),
        [
          'ratio ASHA / random',
          '',
          '',
          '',
          fmt(a.epochsTrainedRatio),
          '',
          fmt(a.epochsToTargetRatio),
          fmt(a.asha.wallSeconds / a.random.wallSeconds),
        ],
      ],
    )}\n`,
  );
  process.stdout.write(
    `(same seed, 1 worker, concurrency 1: trials in index order, deterministic, one run each; same parameters drawn: ${a.sameParams ? 'yes' : 'NO'}; ` +
      `target = ${fmt(a.target)}, the best validation accuracy of any epoch that both sweeps reached; epochs to target counted in trial index order; ` +
      `epochs per trial: random [${a.random.epochsPerTrial.join(' ')}], ASHA [${a.asha.epochsPerTrial.join(' ')}]; ` +
      `best trial by its last epoch: random #${a.random.bestTrial} val ${fmt(a.random.bestTrialValAccuracy ?? NaN)} test ${fmt(a.random.bestTrialTestAccuracy ?? NaN)}, ` +
      `ASHA #${a.asha.bestTrial} val ${fmt(a.asha.bestTrialValAccuracy ?? NaN)} test ${fmt(a.asha.bestTrialTestAccuracy ?? NaN)}; ${s.seconds.toFixed(1)} s)\n`,
  );
}

// run alone: tsx test/bench/sweep.ts
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  runSweepBench().then(
    (s) => {
      printSweep(s);
      process.stdout.write(`BENCH_JSON ${JSON.stringify({ sweep: s })}\n`);
    },
    (e: unknown) => {
      log(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exitCode = 1;
    },
  );
}
