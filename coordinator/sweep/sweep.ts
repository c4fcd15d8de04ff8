// Hyperparameter sweeps on the worker pool: the scheduler that suggests trials (grid, random,
// tpe, narrow), runs each as a training job on its own seats — the compute threads of this
// process (`gradwire sweep` on one machine: no socket, no serialization) or threads of the
// pool's workers (`--workers N`, `coordinator --sweep`) — stops the unpromising ones at
// ASHA's rungs, persists every trial in the experiment store before reporting it, and resumes
// after a crash. Starting or resuming a sweep is in start.ts; the end (the chosen
// configuration evaluated on the test split once, the outputs) in finish.ts.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type RunConfig, splitSeedOf } from '../../shared/config-types.js';
import { encodeDatasetBlob } from '../../shared/data/blob.js';
import type { Dataset } from '../../shared/data/dataset.js';
import { Asha, type RungPoint, SeedRungs } from '../../shared/sweep/asha.js';
import { applyParams } from '../../shared/sweep/config.js';
import { suggest } from '../../shared/sweep/samplers.js';
import { spread } from '../../shared/sweep/stats.js';
import type { TrialRecord } from '../../shared/sweep/types.js';
import { shareDataset, ThreadPool } from '../../shared/node/threads/team.js';
import { datasetSha256, loadDataset } from '../run/datasets.js';
import { ThreadSource } from '../run/threads-source.js';
import { DistributedSource } from '../cluster/distributed.js';
import { readCsv, type SweepSummary } from '../store/outputs.js';
import type { StoredEpochRow, TrialEndStatus } from '../store/records.js';

export type { SweepSummary } from '../store/outputs.js';
import { runTraining } from '../run/run-loop.js';
import type { CoordinatorServer } from '../cluster/server.js';
import type { Telemetry } from '../run/telemetry.js';
import { finishSweep } from './finish.js';
import { metricOf, openSweep, seedRunConfig, seedRunDir } from './start.js';

export interface SweepOptions {
  /** the sweep config file, or null with `preset` */
  file: string | null;
  preset: 'lecture' | null;
  outDir: string;
  storePath: string;
  resume: boolean;
  log: Logger;
  server: CoordinatorServer;
  /** the pool's telemetry (dashboard, /metrics) */
  telemetry: Telemetry;
  /** compute threads expected in the pool (the default concurrency: a worker with N threads
   *  offers N trial seats); the threads of the workers connected count when they are more */
  poolSize: number;
  /** run the trials on this many compute threads of this process instead of the pool's
   *  workers (each thread a trial seat) */
  threads?: number;
}

interface LoadedData {
  data: Dataset;
  /** the blob workers fetch (encoded when a trial first goes to workers) */
  blob: Uint8Array | null;
  sha256: string;
  /** the dataset over SharedArrayBuffers, for this process's threads (made when first asked) */
  shared?: Dataset;
}

export async function runSweep(o: SweepOptions): Promise<SweepSummary> {
  const started = Date.now();
  const { sweepId, cfg, store } = openSweep(o);

  const datasets = new Map<string, LoadedData>();
  const dataFor = (run: RunConfig): LoadedData => {
    // the seed runs of a trial share its dataset: keyed by the data config and the split seed
    const key = JSON.stringify([{ ...run.data, splitSeed: undefined }, splitSeedOf(run)]);
    let d = datasets.get(key);
    if (!d) {
      const data = loadDataset(run.data, process.cwd(), run.seed);
      d = { data, blob: null, sha256: datasetSha256(data) };
      datasets.set(key, d);
    }
    return d;
  };

  const K = cfg.seeds;
  const rungs = cfg.earlyStopping
    ? new SeedRungs(
        new Asha(cfg.earlyStopping.minEpochs, cfg.earlyStopping.reductionFactor, cfg.base.epochs, cfg.metric.goal),
        K,
      )
    : null;
  const pointOf = (row: { valAccuracy: number; valLoss: number }): RungPoint => ({
    value: metricOf(cfg, row),
    valAccuracy: row.valAccuracy,
  });
  if (rungs) {
    // rebuild the rungs from what the store remembers (resume): the epochs of the seed runs
    // that ended; those that were running start again and report theirs anew
    for (const t of store.trials(sweepId))
      for (const s of t.seeds ?? [])
        if (s.runId && (s.status === 'finished' || s.status === 'stopped'))
          for (const row of store.epochs(s.runId)) rungs.report(t.index, s.seedIndex, row.epoch, pointOf(row));
  }
  /** trials with a failed seed run: their other seed runs stop at their next epoch boundary */
  const halted = new Set<number>();

  const tel = o.telemetry;
  tel.sweepStarted({
    id: sweepId,
    metric: cfg.metric,
    parameters: Object.keys(cfg.parameters),
    total: cfg.trials,
  });
  const report = (index: number): void => {
    const r = store.trial(sweepId, index);
    if (!r) return;
    const seeds = store.seedRuns(sweepId, index);
    tel.trial({
      index,
      params: r.params,
      status: r.status,
      value: r.value,
      valAccuracy: r.valAccuracy,
      epochs: r.epochs,
      runId: r.runId,
      spread: spread(seeds.map((x) => x.value)),
      valAccuracySpread: spread(seeds.map((x) => x.valAccuracy)),
      seeds,
    });
  };
  for (const t of store.trials(sweepId)) report(t.index);

  // Seats: a worker's compute threads are the pool's seats. A seed run (with seeds: 1, the
  // trial's one run) takes workersPerTrial threads, from one worker or several (one seat per
  // worker, the worker with the most free threads first); seed runs run side by side on the
  // threads of one process. The seed runs of a trial are separate units: K = 3 on 2 threads
  // keeps both busy.
  const local = o.threads ?? 0;
  const threadPool = local > 0 ? new ThreadPool() : null;
  /** a seed run's threads here: workersPerTrial, at most the threads there are */
  const trialThreads = Math.min(cfg.workersPerTrial, local);
  const poolThreads = (): number => (local > 0 ? local : o.server.workers().reduce((n, c) => n + c.threads, 0));
  const concurrency = (): number =>
    Math.max(
      1,
      cfg.concurrency ??
        (local > 0
          ? Math.floor(local / trialThreads)
          : Math.floor(Math.max(o.poolSize, poolThreads()) / cfg.workersPerTrial)),
    );
  /** the seed runs under way, by `index/seedIndex` */
  const running = new Map<string, Promise<void>>();
  const unitKey = (index: number, seedIndex: number): string => `${index}/${seedIndex}`;
  const runningSeeds = (index: number): number => {
    let n = 0;
    for (const k of running.keys()) if (k.startsWith(`${index}/`)) n++;
    return n;
  };
  const wanting: Array<{ runId: string; need: number }> = [];
  const staff = (): void => {
    for (const want of wanting) {
      let have = 0;
      for (const c of o.server.workers()) have += c.seat(want.runId)?.threads ?? 0;
      while (have < want.need) {
        const c = o.server
          .workers()
          .filter((w) => w.freeThreads > 0 && !w.seat(want.runId))
          .sort(
            (a, b) => b.freeThreads - a.freeThreads || a.connectedAt - b.connectedAt || a.id.localeCompare(b.id),
          )[0];
        if (!c) break;
        const take = Math.min(c.freeThreads, want.need - have);
        o.server.assign(c, want.runId, take);
        have += take;
      }
    }
  };
  // a worker joining (or coming back) may take waiting seed runs, and its threads may allow more
  // at once: the loop below looks again
  let poolChanged: () => void = () => {};
  const onIdle = (): void => {
    staff();
    poolChanged();
  };
  const onLeft = (): void => staff();
  o.server.on('idle', onIdle);
  o.server.on('left', onLeft);

  /** Trial `index` ends when none of its seed runs is queued or running (a halted trial: none
   *  running; its queued ones never start): its status, its value (the mean over its seed runs;
   *  stopped by ASHA: the mean at the rung) and epochs go to the store, then to the log. */
  const settle = (index: number, params: Record<string, unknown>): void => {
    const trial = store.trial(sweepId, index);
    if (!trial || trial.status === 'finished' || trial.status === 'stopped' || trial.status === 'failed') return;
    let seeds = store.seedRuns(sweepId, index);
    if (seeds.length === 0) return;
    const failed = halted.has(index) || seeds.some((x) => x.status === 'failed');
    if (failed) {
      if (runningSeeds(index) > 0) return;
      for (const x of seeds)
        if (x.status === 'queued' || x.status === 'running')
          store.finishSeedRun(sweepId, index, x.seedIndex, 'stopped', null, null, 0);
      seeds = store.seedRuns(sweepId, index);
    } else if (seeds.some((x) => x.status === 'queued' || x.status === 'running')) return;
    const at = rungs?.stoppedAt(index) ?? null;
    let status: TrialEndStatus;
    let epochs = Math.max(...seeds.map((x) => x.epochs));
    let seedValues: Array<{ seedIndex: number; value: number | null; valAccuracy: number | null }> | undefined;
    if (failed) status = 'failed';
    else if (at !== null) {
      // each seed run's value where the trial's was taken: at the rung
      const points = rungs!.points(index, at)!;
      seedValues = seeds.map((x, k) => ({
        seedIndex: x.seedIndex,
        value: points[k]!.value,
        valAccuracy: points[k]!.valAccuracy,
      }));
      status = 'stopped';
      epochs = at;
    } else status = seeds.some((x) => x.status === 'stopped') ? 'stopped' : 'finished';
    const values = seedValues ?? seeds;
    const value = spread(values.map((x) => x.value));
    const valAccuracy = spread(values.map((x) => x.valAccuracy));
    store.finishTrial(sweepId, index, status, value?.mean ?? null, valAccuracy?.mean ?? null, epochs, seedValues);
    const shown = value ? value.mean.toFixed(4) : 'none';
    const interval = K > 1 && value ? ` (95% interval ${value.lo.toFixed(4)}..${value.hi.toFixed(4)}, ${K} seeds)` : '';
    o.log[failed ? 'error' : 'info'](
      {
        event: 'trial',
        sweep: sweepId,
        index,
        params,
        status,
        value: value?.mean ?? null,
        epochs,
        ...(K > 1 ? { spread: value, seeds: values.map((x) => x.value) } : {}),
      },
      `trial ${index} ${status === 'stopped' && at !== null ? `stopped by ASHA after epoch ${epochs}` : status}: ${cfg.metric.name} ${shown}${interval}  ${JSON.stringify(params)}`,
    );
  };

  const runSeed = async (t: { index: number; params: Record<string, unknown> }, seedIndex: number, seed: number) => {
    // seed run 0 is the trial's run as without seeds; k >= 1 trains with its own seed on the
    // split (and synthetic dataset) of the trial's seed. A requeued seed run runs again under a
    // new run id (the killed attempt's run is 'failed').
    const config = seedRunConfig(applyParams(cfg.base, t.params), seedIndex, seed);
    const base = seedIndex === 0 ? `${sweepId}-t${t.index}` : `${sweepId}-t${t.index}-s${seedIndex}`;
    let runId = base;
    for (let k = 2; store.run(runId); k++) runId = `${base}-r${k}`;
    const outDir = seedRunDir(o.outDir, t.index, seedIndex);
    const d = dataFor(config);
    store.createRun(runId, 'trial', config, sweepId, outDir);
    store.startSeedRun(sweepId, t.index, seedIndex, runId);
    report(t.index);
    const trialLog = o.log.child(K > 1 ? { trial: t.index, seed: seedIndex } : { trial: t.index }, { level: 'warn' });
    let source: DistributedSource | ThreadSource | null = null;
    const want = { runId, need: cfg.workersPerTrial };
    let lastRow: StoredEpochRow | null = null;
    /** epochs reported (a run resumed from its checkpoint reports only the epochs after it: the
     *  earlier ones are read back from its epochs.csv) */
    const seen = new Set<number>();
    const take = (row: StoredEpochRow): 'continue' | 'stop' => {
      seen.add(row.epoch);
      lastRow = row;
      store.addEpoch(runId, row);
      const verdict = rungs ? rungs.report(t.index, seedIndex, row.epoch, pointOf(row)) : 'continue';
      return verdict === 'stop' || halted.has(t.index) ? 'stop' : 'continue';
    };
    const catchUp = (before: number): 'continue' | 'stop' => {
      let verdict: 'continue' | 'stop' = 'continue';
      for (const r of readCsv(join(outDir, 'epochs.csv'))) {
        const e = Number(r.epoch);
        if (e >= before || seen.has(e)) continue;
        const row: StoredEpochRow = {
          epoch: e,
          step: Number(r.step),
          trainLoss: Number(r.trainLoss),
          trainAccuracy: Number(r.trainAccuracy),
          valLoss: Number(r.valLoss),
          valAccuracy: Number(r.valAccuracy),
          lr: Number(r.lr),
          samplesPerSecond: Number(r.samplesPerSecond),
        };
        if (take(row) === 'stop') verdict = 'stop';
      }
      return verdict;
    };
    try {
      if (threadPool) {
        d.shared ??= shareDataset(d.data);
        source = await ThreadSource.start(config, d.shared, trialThreads, trialLog, { pool: threadPool });
      } else {
        d.blob ??= encodeDatasetBlob(d.data);
        o.server.addJob({
          jobId: runId,
          config: config as unknown as Record<string, unknown>,
          sha256: d.sha256,
          blob: d.blob,
        });
        source = new DistributedSource(o.server, {
          log: o.log,
          runId,
          minWorkers: 1,
          minThreads: cfg.workersPerTrial,
          onNonFinite: config.onNonFinite,
          telemetry: tel,
        });
        wanting.push(want);
        staff();
      }
      const summary = await runTraining(
        {
          config,
          data: source instanceof ThreadSource ? source.data : d.data,
          outDir,
          runId,
          log: trialLog,
          progress: false,
          stepEvents: false,
          evaluateTest: false,
          telemetry: tel.forRun(runId, 'trial', sweepId, t.index),
          onEpoch: (row) => {
            const early = seen.size === 0 && row.epoch > 1 ? catchUp(row.epoch) : 'continue';
            const verdict = take(row);
            report(t.index);
            return early === 'stop' ? 'stop' : verdict;
          },
        },
        source,
      );
      const s = summary!;
      catchUp(Infinity);
      const value = cfg.metric.name === 'valAccuracy' ? s.valAccuracy : s.valLoss;
      store.finishRun(runId, 'finished', s);
      store.finishSeedRun(
        sweepId,
        t.index,
        seedIndex,
        s.stoppedEarly ? 'stopped' : 'finished',
        value,
        s.valAccuracy,
        s.epochs,
      );
      if (K > 1)
        o.log.info(
          { event: 'seed-run', sweep: sweepId, index: t.index, seedIndex, seed, runId, value, epochs: s.epochs },
          `trial ${t.index} seed run ${seedIndex} (seed ${seed}) ${s.stoppedEarly ? `stopped after epoch ${s.epochs}` : 'finished'}: ${cfg.metric.name} ${value.toFixed(4)}`,
        );
    } catch (e) {
      const row = lastRow as StoredEpochRow | null;
      halted.add(t.index);
      store.finishRun(runId, 'failed', null);
      store.finishSeedRun(
        sweepId,
        t.index,
        seedIndex,
        'failed',
        row ? metricOf(cfg, row) : null,
        row?.valAccuracy ?? null,
        row?.epoch ?? 0,
      );
      o.log.error(
        { event: 'trial-failed', sweep: sweepId, index: t.index, seedIndex, err: (e as Error).message },
        `trial ${t.index}${K > 1 ? ` seed run ${seedIndex}` : ''} failed: ${(e as Error).message}`,
      );
    } finally {
      if (source instanceof ThreadSource) await source.close();
      else if (source) {
        source.dispose();
        wanting.splice(wanting.indexOf(want), 1);
        for (const c of o.server.workers()) {
          const seat = c.seat(runId);
          if (seat) o.server.release(seat);
        }
        o.server.removeJob(runId);
        staff();
      }
    }
  };

  // a resumed sweep: trials whose seed runs all ended before the coordinator died
  for (const t of store.trials(sweepId)) settle(t.index, t.params);

  /** the next seed run to start: the first queued one of the first trial still open */
  const nextUnit = (
    history: TrialRecord[],
  ): { index: number; params: Record<string, unknown>; seedIndex: number; seed: number } | null => {
    for (const t of history) {
      if (t.status !== 'queued' && t.status !== 'running') continue;
      if (halted.has(t.index) || (rungs?.stoppedAt(t.index) ?? null) !== null) continue;
      for (const x of t.seeds ?? [])
        if (x.status === 'queued' && !running.has(unitKey(t.index, x.seedIndex)))
          return { index: t.index, params: t.params, seedIndex: x.seedIndex, seed: x.seed };
    }
    return null;
  };

  let exhausted = false;
  for (;;) {
    let blocked = false;
    while (running.size < concurrency()) {
      const history = store.trials(sweepId);
      let next = nextUnit(history);
      if (!next) {
        if (exhausted) break;
        const index = history.length === 0 ? 0 : Math.max(...history.map((t) => t.index)) + 1;
        if (index >= cfg.trials) {
          exhausted = true;
          break;
        }
        const s = suggest(cfg, index, history);
        if (s === 'wait') {
          blocked = true;
          break;
        }
        if (s === null) {
          exhausted = true;
          break;
        }
        const first = applyParams(cfg.base, s).seed;
        store.addTrial(
          sweepId,
          index,
          s,
          Array.from({ length: K }, (_, k) => first + k),
        );
        report(index);
        next = { index, params: s, seedIndex: 0, seed: first };
      }
      const u = next;
      const key = unitKey(u.index, u.seedIndex);
      running.set(
        key,
        runSeed(u, u.seedIndex, u.seed).finally(() => {
          running.delete(key);
          settle(u.index, u.params);
          report(u.index);
        }),
      );
    }
    if (running.size === 0) {
      if (blocked) throw new Error('the sampler waits for trials, but none is running');
      break;
    }
    await Promise.race([
      ...running.values(),
      new Promise<void>((resolve) => {
        poolChanged = resolve;
      }),
    ]);
  }
  o.server.off('idle', onIdle);
  o.server.off('left', onLeft);
  await threadPool?.close();

  const summary = finishSweep(o, cfg, store, sweepId, dataFor, started);
  tel.sweepEnded();
  store.close();
  return summary;
}
