// Hyperparameter sweeps on the worker pool: the scheduler that suggests trials (grid, random,
// tpe, narrow), runs each as a training job on its own seats — the compute threads of this
// process (`gradwire sweep` on one machine: no socket, no serialization) or threads of the
// pool's workers (`--workers N`, `coordinator --sweep`) — stops the unpromising ones at
// ASHA's rungs, persists every trial in the experiment store before reporting it, and resumes
// after a crash. Starting or resuming a sweep is in start.ts; the end (the chosen
// configuration evaluated on the test split once, the outputs) in finish.ts.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RunConfig } from '../../shared/config-types.js';
import { encodeDatasetBlob } from '../../shared/data/blob.js';
import type { Dataset } from '../../shared/data/dataset.js';
import { Asha } from '../../shared/sweep/asha.js';
import { applyParams } from '../../shared/sweep/config.js';
import { suggest } from '../../shared/sweep/samplers.js';
import { shareDataset, ThreadPool } from '../../shared/node/threads/team.js';
import { datasetSha256, loadDataset } from '../run/datasets.js';
import { ThreadSource } from '../run/threads-source.js';
import { DistributedSource } from '../cluster/distributed.js';
import type { SweepSummary } from '../store/outputs.js';

export type { SweepSummary } from '../store/outputs.js';
import { runTraining, type EpochRow } from '../run/run-loop.js';
import type { CoordinatorServer } from '../cluster/server.js';
import type { Telemetry } from '../run/telemetry.js';
import { finishSweep } from './finish.js';
import { metricOf, openSweep } from './start.js';

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
    const key = JSON.stringify([run.data, run.seed]);
    let d = datasets.get(key);
    if (!d) {
      const data = loadDataset(run.data, process.cwd(), run.seed);
      d = { data, blob: null, sha256: datasetSha256(data) };
      datasets.set(key, d);
    }
    return d;
  };

  const asha = cfg.earlyStopping
    ? new Asha(cfg.earlyStopping.minEpochs, cfg.earlyStopping.reductionFactor, cfg.base.epochs, cfg.metric.goal)
    : null;
  if (asha) {
    // rebuild the rungs from what the store remembers (resume)
    for (const t of store.trials(sweepId)) for (const p of t.curve) asha.report(t.index, p.epoch, metricOf(cfg, p));
  }

  const tel = o.telemetry;
  tel.sweepStarted({
    id: sweepId,
    metric: cfg.metric,
    parameters: Object.keys(cfg.parameters),
    total: cfg.trials,
  });
  const report = (index: number): void => {
    const r = store.trial(sweepId, index);
    if (r)
      tel.trial({
        index,
        params: r.params,
        status: r.status,
        value: r.value,
        valAccuracy: r.valAccuracy,
        epochs: r.epochs,
        runId: r.runId,
      });
  };
  for (const t of store.trials(sweepId)) report(t.index);

  // Seats: a worker's compute threads are the pool's trial seats. A trial takes
  // workersPerTrial threads, from one worker or several (one seat per worker, the worker with the
  // most free threads first); trials run side by side on the threads of one process.
  const local = o.threads ?? 0;
  const threadPool = local > 0 ? new ThreadPool() : null;
  /** a trial's threads here: workersPerTrial, at most the threads there are */
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
  const running = new Map<number, Promise<void>>();
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
  // a worker joining (or coming back) may take waiting trials, and its threads may allow more
  // trials at once: the loop below looks again
  let poolChanged: () => void = () => {};
  const onIdle = (): void => {
    staff();
    poolChanged();
  };
  const onLeft = (): void => staff();
  o.server.on('idle', onIdle);
  o.server.on('left', onLeft);

  const runTrial = async (t: { index: number; params: Record<string, unknown> }): Promise<void> => {
    // a requeued trial runs again under a new run id (the killed attempt's run is 'failed')
    let runId = `${sweepId}-t${t.index}`;
    for (let k = 2; store.run(runId); k++) runId = `${sweepId}-t${t.index}-r${k}`;
    const config = applyParams(cfg.base, t.params);
    const d = dataFor(config);
    store.createRun(runId, 'trial', config, sweepId);
    store.startTrial(sweepId, t.index, runId);
    report(t.index);
    const trialLog = o.log.child({ trial: t.index }, { level: 'warn' });
    let source: DistributedSource | ThreadSource | null = null;
    const want = { runId, need: cfg.workersPerTrial };
    let lastRow: EpochRow | null = null;
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
          outDir: join(o.outDir, 'trials', String(t.index)),
          runId,
          log: trialLog,
          progress: false,
          stepEvents: false,
          evaluateTest: false,
          telemetry: tel.forRun(runId, 'trial', sweepId, t.index),
          onEpoch: (row) => {
            lastRow = row;
            store.addEpoch(runId, row);
            report(t.index);
            return asha ? asha.report(t.index, row.epoch, metricOf(cfg, row)) : 'continue';
          },
        },
        source,
      );
      const s = summary!;
      const value = cfg.metric.name === 'valAccuracy' ? s.valAccuracy : s.valLoss;
      store.finishRun(runId, 'finished', s);
      store.finishTrial(sweepId, t.index, s.stoppedEarly ? 'stopped' : 'finished', value, s.valAccuracy, s.epochs);
      o.log.info(
        {
          event: 'trial',
          sweep: sweepId,
          index: t.index,
          params: t.params,
          status: s.stoppedEarly ? 'stopped' : 'finished',
          value,
          epochs: s.epochs,
        },
        `trial ${t.index} ${s.stoppedEarly ? `stopped by ASHA after epoch ${s.epochs}` : 'finished'}: ${cfg.metric.name} ${value.toFixed(4)}  ${JSON.stringify(t.params)}`,
      );
    } catch (e) {
      const row = lastRow as EpochRow | null;
      store.finishRun(runId, 'failed', null);
      store.finishTrial(
        sweepId,
        t.index,
        'failed',
        row ? metricOf(cfg, row) : null,
        row?.valAccuracy ?? null,
        row?.epoch ?? 0,
      );
      o.log.error(
        { event: 'trial-failed', sweep: sweepId, index: t.index, err: (e as Error).message },
        `trial ${t.index} failed: ${(e as Error).message}`,
      );
    } finally {
      report(t.index);
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

  let exhausted = false;
  for (;;) {
    let blocked = false;
    while (running.size < concurrency() && !exhausted) {
      const history = store.trials(sweepId);
      const queued = history.find((t) => t.status === 'queued' && !running.has(t.index));
      let next: { index: number; params: Record<string, unknown> } | null = queued
        ? { index: queued.index, params: queued.params }
        : null;
      if (!next) {
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
        store.addTrial(sweepId, index, s);
        report(index);
        next = { index, params: s };
      }
      const t = next;
      running.set(
        t.index,
        runTrial(t).finally(() => running.delete(t.index)),
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
