// Hyperparameter sweeps on the worker pool: the scheduler that suggests trials (grid, random,
// tpe, narrow), runs each as a training job on its own workers, stops the unpromising ones at
// ASHA's rungs, persists every trial in the experiment store before reporting it, resumes
// after a crash, and at the end evaluates the chosen configuration on the test split once.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { decodeCheckpoint } from '../../shared/checkpoint.js';
import type { RunConfig } from '../../shared/config-types.js';
import { encodeDatasetBlob } from '../../shared/data/blob.js';
import type { Dataset } from '../../shared/data/dataset.js';
import { Trainer } from '../../shared/engine/trainer.js';
import { UserError } from '../../shared/errors.js';
import { Asha } from '../../shared/sweep/asha.js';
import { applyParams, canonicalJson, describeChange, parseSweepConfig } from '../../shared/sweep/config.js';
import { suggest } from '../../shared/sweep/samplers.js';
import { LECTURE_PRESET } from '../../shared/sweep/presets.js';
import type { SweepConfig, TrialRecord } from '../../shared/sweep/types.js';
import { loadRunConfig } from '../run/config-file.js';
import { loadDataset } from '../run/datasets.js';
import { DistributedSource } from '../cluster/distributed.js';
import { ensureDir, sha256Hex, toCsv, writeAtomic, writeJson, type SweepSummary } from '../store/outputs.js';

export type { SweepSummary } from '../store/outputs.js';
import { CHECKPOINT_FILE, runTraining, type EpochRow } from '../run/run-loop.js';
import type { CoordinatorServer, WorkerConn } from '../cluster/server.js';
import { Store } from '../store/store.js';
import type { Telemetry } from '../run/telemetry.js';
import { renderSweepReport } from '../report/sweep-report.js';

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
  /** workers expected in the pool (the default concurrency) */
  poolSize: number;
}

interface LoadedData {
  data: Dataset;
  blob: Uint8Array;
  sha256: string;
}

function readSweep(o: SweepOptions): SweepConfig {
  if (o.preset === 'lecture')
    return parseSweepConfig(LECTURE_PRESET, () => {
      throw new Error('the preset has no base file');
    });
  const file = resolve(o.file!);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      code ? 'USAGE' : 'CONFIG_INVALID',
      code ? `--config: cannot read ${file} (${code})` : `${file}: ${(e as Error).message}`,
    );
  }
  return parseSweepConfig(raw, (path: string) => loadRunConfig(resolve(dirname(file), path)).config);
}

const metricOf = (cfg: SweepConfig, row: { valAccuracy: number; valLoss: number }): number =>
  cfg.metric.name === 'valAccuracy' ? row.valAccuracy : row.valLoss;

const better = (cfg: SweepConfig, a: number, b: number): boolean => (cfg.metric.goal === 'maximize' ? a > b : a < b);

export async function runSweep(o: SweepOptions): Promise<SweepSummary> {
  const started = Date.now();
  const cfg = readSweep(o);
  const hash = sha256Hex(new TextEncoder().encode(canonicalJson(cfg)));
  ensureDir(o.outDir);
  const store = Store.open(o.storePath);
  const marker = join(o.outDir, 'sweep.json');
  let sweepId: string;
  if (o.resume) {
    if (!existsSync(marker))
      throw new UserError(
        'USAGE',
        `--resume: ${o.outDir} holds no sweep to resume (no sweep.json); drop --resume to start one`,
      );
    sweepId = (JSON.parse(readFileSync(marker, 'utf8')) as { sweepId: string }).sweepId;
    const row = store.sweep(sweepId);
    if (!row) throw new UserError('USAGE', `--resume: sweep ${sweepId} is not in the store ${o.storePath}`);
    if (row.configHash !== hash) {
      throw new UserError(
        'CONFIG_INVALID',
        `--resume: the sweep config changed since sweep ${sweepId} started: ${describeChange(row.config as SweepConfig, cfg)}; resume with the same config, or start a new sweep with another --out`,
      );
    }
    const n = store.requeueRunning(sweepId);
    o.log.info(
      { event: 'sweep-resume', sweep: sweepId, requeued: n },
      `resuming sweep ${sweepId}: ${n} trial(s) that were running go back to the queue`,
    );
  } else {
    if (existsSync(marker))
      throw new UserError(
        'USAGE',
        `${o.outDir} already holds a sweep; add --resume to continue it, or choose another --out`,
      );
    sweepId = `sweep-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;
    store.createSweep(sweepId, cfg, hash);
    writeFileSync(marker, `${JSON.stringify({ sweepId }, null, 2)}\n`);
    o.log.info(
      { event: 'sweep-start', sweep: sweepId, method: cfg.method, trials: cfg.trials },
      `sweep ${sweepId}: ${cfg.method}, ${cfg.trials} trials, metric ${cfg.metric.name} (${cfg.metric.goal})`,
    );
  }

  const datasets = new Map<string, LoadedData>();
  const dataFor = (run: RunConfig): LoadedData => {
    const key = JSON.stringify([run.data, run.seed]);
    let d = datasets.get(key);
    if (!d) {
      const data = loadDataset(run.data, process.cwd(), run.seed);
      const blob = encodeDatasetBlob(data);
      d = { data, blob, sha256: sha256Hex(blob) };
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

  const concurrency = Math.max(1, cfg.concurrency ?? Math.floor(o.poolSize / cfg.workersPerTrial));
  const staffing = new Map<WorkerConn, string>();
  const running = new Map<number, Promise<void>>();
  const wanting: Array<{ runId: string; need: number }> = [];
  const staff = (): void => {
    for (const c of [...staffing.keys()]) if (!o.server.conns.has(c.id)) staffing.delete(c);
    const free = o.server.workers().filter((c) => !staffing.has(c));
    for (const want of wanting) {
      const have = [...staffing.values()].filter((r) => r === want.runId).length;
      for (let k = have; k < want.need && free.length > 0; k++) {
        const c = free.shift()!;
        staffing.set(c, want.runId);
        o.server.assign(c, want.runId);
      }
    }
  };
  const onIdle = (): void => staff();
  const onGone = (): void => staff();
  o.server.on('idle', onIdle);
  o.server.on('gone', onGone);

  const runTrial = async (t: { index: number; params: Record<string, unknown> }): Promise<void> => {
    // a requeued trial runs again under a new run id (the killed attempt's run is 'failed')
    let runId = `${sweepId}-t${t.index}`;
    for (let k = 2; store.run(runId); k++) runId = `${sweepId}-t${t.index}-r${k}`;
    const config = applyParams(cfg.base, t.params);
    const d = dataFor(config);
    o.server.addJob({
      jobId: runId,
      config: config as unknown as Record<string, unknown>,
      sha256: d.sha256,
      blob: d.blob,
    });
    store.createRun(runId, 'trial', config, sweepId);
    store.startTrial(sweepId, t.index, runId);
    report(t.index);
    const source = new DistributedSource(o.server, {
      log: o.log,
      runId,
      minWorkers: cfg.workersPerTrial,
      onNonFinite: config.onNonFinite,
      telemetry: tel,
    });
    const want = { runId, need: cfg.workersPerTrial };
    wanting.push(want);
    staff();
    let lastRow: EpochRow | null = null;
    try {
      const summary = await runTraining(
        {
          config,
          data: d.data,
          outDir: join(o.outDir, 'trials', String(t.index)),
          runId,
          log: o.log.child({ trial: t.index }, { level: 'warn' }),
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
      source.dispose();
      wanting.splice(wanting.indexOf(want), 1);
      for (const [c, r] of staffing) if (r === runId) staffing.delete(c);
      o.server.removeJob(runId);
      staff();
    }
  };

  let exhausted = false;
  for (;;) {
    let blocked = false;
    while (running.size < concurrency && !exhausted) {
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
    await Promise.race(running.values());
  }
  o.server.off('idle', onIdle);
  o.server.off('gone', onGone);

  const summary = finishSweep(o, cfg, store, sweepId, dataFor, started);
  tel.sweepEnded();
  store.close();
  return summary;
}

function finishSweep(
  o: SweepOptions,
  cfg: SweepConfig,
  store: Store,
  sweepId: string,
  dataFor: (c: RunConfig) => LoadedData,
  started: number,
): SweepSummary {
  const trials = store.trials(sweepId);
  let best: TrialRecord | null = null;
  for (const t of trials) {
    if (
      (t.status === 'finished' || t.status === 'stopped') &&
      t.value !== null &&
      (!best || better(cfg, t.value, best.value!))
    )
      best = t;
  }
  // the test split is touched once: for the chosen configuration, here
  let testAccuracy: number | null = null;
  if (best) {
    const config = applyParams(cfg.base, best.params);
    const ckptPath = join(o.outDir, 'trials', String(best.index), CHECKPOINT_FILE);
    const ckpt = decodeCheckpoint(readFileSync(ckptPath), ckptPath);
    const trainer = new Trainer(config, dataFor(config).data);
    trainer.restore(ckpt.state);
    testAccuracy = trainer.evaluate(trainer.split.test).accuracy;
  }
  const count = (s: string): number => trials.filter((t) => t.status === s).length;
  const summary: SweepSummary = {
    sweepId,
    method: cfg.method,
    trials: trials.length,
    finished: count('finished'),
    stopped: count('stopped'),
    failed: count('failed'),
    best: best
      ? {
          index: best.index,
          params: best.params,
          valAccuracy: best.valAccuracy,
          testAccuracy,
          value: best.value!,
        }
      : null,
    epochsTrained: trials.reduce((a, t) => a + t.epochs, 0),
    wallSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
  const paramKeys = Object.keys(cfg.parameters);
  writeAtomic(
    join(o.outDir, 'trials.csv'),
    toCsv(
      // scalars as they are, lists (model.hidden) as JSON
      trials.map((t) => ({
        id: t.index,
        ...Object.fromEntries(
          paramKeys.map((k) => [k, typeof t.params[k] === 'object' ? JSON.stringify(t.params[k]) : t.params[k]]),
        ),
        valAccuracy: t.valAccuracy ?? '',
        value: t.value ?? '',
        epochs: t.epochs,
        status: t.status,
      })),
      ['id', ...paramKeys, 'valAccuracy', 'value', 'epochs', 'status'],
    ),
  );
  writeJson(o.outDir, 'summary.json', summary);
  writeAtomic(
    join(o.outDir, 'report.html'),
    renderSweepReport({
      sweepId,
      config: cfg,
      trials,
      lecture: o.preset === 'lecture',
      generatedAt: new Date().toISOString(),
      best: summary.best
        ? {
            index: summary.best.index,
            params: summary.best.params,
            valAccuracy: summary.best.valAccuracy ?? NaN,
            testAccuracy,
          }
        : null,
    }),
  );
  store.finishSweep(sweepId, summary);
  o.log.info(
    { event: 'sweep-done', sweep: sweepId, ...summary },
    summary.best
      ? `sweep ${sweepId} done: ${summary.trials} trials; best #${summary.best.index} ${JSON.stringify(summary.best.params)}: validation accuracy ${((summary.best.valAccuracy ?? NaN) * 100).toFixed(2)}%, test accuracy ${((testAccuracy ?? NaN) * 100).toFixed(2)}%; report in ${join(o.outDir, 'report.html')}`
      : `sweep ${sweepId} done: no trial finished`,
  );
  return summary;
}
