// The training run as a user sees it, whoever computes the gradients: epochs and steps,
// validation each epoch, test once at the end, logs and a progress bar, checkpoints (every
// epoch or K steps and every checkpointSeconds, at the end, on SIGTERM), resuming from the
// checkpoint in the output folder (also with more epochs, when the schedule allows), and the
// outputs of DESIGN.md. A GradientSource computes each step's gradient: in this process
// (`train --in-process`) or on remote workers (`coordinator`); the result is the same bits.
import { kernelVariant } from '../../shared/kernels/index.js';
import '../../shared/node/kernels-wasm.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';
import type { Logger } from 'pino';
import { decodeCheckpoint, encodeCheckpoint, resumeProblem } from '../../shared/checkpoint.js';
import type { RunConfig } from '../../shared/config-types.js';
import type { Dataset } from '../../shared/data/dataset.js';
import { Trainer, type EvalResult, type StepResult } from '../../shared/engine/trainer.js';
import { UserError } from '../../shared/errors.js';
import { datasetSha256 } from './datasets.js';
import type { RunTelemetry } from './telemetry.js';
import {
  CHECKPOINT_FILE,
  EPOCH_COLUMNS,
  STEP_COLUMNS,
  type EpochRow,
  type RunMode,
  type RunSummary,
  appendCsv,
  ensureDir,
  readCsv,
  sha256Hex,
  toCsv,
  writeAtomic,
  writeJson,
} from '../store/outputs.js';

// the shapes of a run's outputs, defined beside the files that hold them
export { CHECKPOINT_FILE, type EpochRow, type RunSummary } from '../store/outputs.js';

export interface StepGradient {
  gradSum: Float32Array;
  lossSum: number;
  correct: number;
  bnStats: Map<number, Float64Array>;
  /** extra fields for the step's log event (workers, bytes, timings) */
  info?: Record<string, unknown>;
}

export interface GradientSource {
  readonly mode: RunMode;
  /** compute threads of a 'threads' source */
  readonly threads?: number;
  readonly kernel: string;
  /** number of workers that took part in the run so far (0 in-process) */
  workers(): number;
  /** the gradient of `batch` at the trainer's current step and weights */
  gradient(trainer: Trainer, batch: Int32Array): Promise<StepGradient> | StepGradient;
}

export interface RunOptions {
  config: RunConfig;
  data: Dataset;
  outDir: string;
  runId: string;
  log: Logger;
  /** show a progress bar on stderr */
  progress: boolean;
  /** log one event per step (JSON logs) */
  stepEvents: boolean;
  /** set when the run should checkpoint and stop (SIGTERM) */
  stopSignal?: StopSignal;
  /** after each epoch's validation: 'stop' ends the run early (ASHA) */
  onEpoch?: (row: EpochRow) => 'continue' | 'stop';
  /** evaluate the test split at the end (default true; sweep trials do not touch it) */
  evaluateTest?: boolean;
  /** report the run's start, steps, epochs and end (dashboard, /metrics) */
  telemetry?: RunTelemetry;
  /** write the config's periodic checkpoints (checkpointEvery, checkpointSeconds); without
   *  them only at the end and when stopped. Default: true, except for a sweep trial
   *  (evaluateTest false), which a crashed sweep runs again from its first step, so that ASHA
   *  and the store see every epoch of it */
  periodicCheckpoints?: boolean;
}

/**
 * Set when the run should checkpoint and stop (SIGTERM). `race` waits for a step or the stop,
 * whichever comes first, and leaves nothing behind: a listener is added for one step and
 * removed when the step settles. (Racing against a promise that never settles would attach
 * one reaction per step to it, each holding that step's result: the gradient, every step, for
 * the life of the run.)
 */
export class StopSignal {
  stopped = false;
  private readonly listeners = new Set<() => void>();
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const l of [...this.listeners]) l();
  }

  /** `pending`'s value, or null as soon as the signal fires */
  race<T>(pending: Promise<T> | T): Promise<T | null> {
    if (this.stopped) return Promise.resolve(null);
    return new Promise<T | null>((resolve, reject) => {
      const onStop = (): void => resolve(null);
      this.listeners.add(onStop);
      Promise.resolve(pending).then(
        (v) => {
          this.listeners.delete(onStop);
          resolve(v);
        },
        (e: unknown) => {
          this.listeners.delete(onStop);
          reject(e);
        },
      );
    });
  }

  /** listeners waiting now (0 between steps: a test checks nothing accumulates) */
  get waiting(): number {
    return this.listeners.size;
  }
}

/** Restore the trainer from `outDir/checkpoint.gwc` if there is one; returns the step. */
function resume(trainer: Trainer, o: RunOptions, dataSha: string): number {
  const path = join(o.outDir, CHECKPOINT_FILE);
  if (!existsSync(path)) return 0;
  const ckpt = decodeCheckpoint(readFileSync(path), path);
  // the same config, or more epochs of a schedule that does not depend on the run's length
  const refused = resumeProblem(ckpt.config, o.config, path);
  if (refused) throw new UserError('USAGE', refused);
  if (ckpt.datasetSha256 && ckpt.datasetSha256 !== dataSha) {
    throw new UserError(
      'DATA_INVALID',
      `${path} was trained on dataset ${ckpt.datasetSha256.slice(0, 12)}…, this data is ${dataSha.slice(0, 12)}…`,
    );
  }
  trainer.restore(ckpt.state);
  return ckpt.state.step;
}

export async function runTraining(o: RunOptions, source: GradientSource): Promise<RunSummary | null> {
  try {
    const summary = await train(o, source);
    o.telemetry?.ended(summary ? 'finished' : 'stopped');
    return summary;
  } catch (e) {
    o.telemetry?.ended('failed');
    throw e;
  }
}

async function train(o: RunOptions, source: GradientSource): Promise<RunSummary | null> {
  const wallStart = performance.now();
  const { config: cfg, log, data } = o;
  const dataSha = datasetSha256(data);
  const trainer = new Trainer(cfg, data);
  const { split, model } = trainer;
  ensureDir(o.outDir);
  const resumedFrom = resume(trainer, o, dataSha);
  const keep = (rows: Array<Record<string, number | string>>): Array<Record<string, unknown>> =>
    rows.filter((r) => Number(r.step) <= resumedFrom);
  const epochRows = resumedFrom ? keep(readCsv(join(o.outDir, 'epochs.csv'))) : [];
  // steps.csv grows by appending the rows at each checkpoint and epoch end, so the run holds
  // the rows since the last of those, not all of them (memory stays flat however long the run)
  const stepsCsv = join(o.outDir, 'steps.csv');
  const earlierSteps = resumedFrom ? keep(readCsv(stepsCsv)).filter((r) => Number(r.step) < resumedFrom) : [];
  writeAtomic(stepsCsv, toCsv(earlierSteps, STEP_COLUMNS));
  let stepRows: Array<Record<string, unknown>> = [];
  const flushSteps = (): void => {
    appendCsv(stepsCsv, stepRows, STEP_COLUMNS);
    stepRows = [];
  };
  // the step rows first: a crash between the two leaves rows past the checkpoint, which a
  // resume drops and recomputes, never a gap
  let savedStep = resumedFrom;
  let savedAt = performance.now();
  const checkpoint = (why?: 'epoch' | 'steps' | 'seconds'): void => {
    flushSteps();
    writeAtomic(join(o.outDir, CHECKPOINT_FILE), encodeCheckpoint(cfg, trainer.state(), dataSha));
    savedStep = trainer.step;
    savedAt = performance.now();
    // the periodic ones are events of the JSON log (a crash loses the steps after the last
    // one); the human log keeps its one line per epoch
    if (why)
      (o.stepEvents ? log.info : log.debug).call(
        log,
        { run: o.runId, event: 'checkpoint', step: trainer.step, epoch: trainer.epoch, why },
        `checkpoint at step ${trainer.step} in ${o.outDir}`,
      );
  };
  // Periodic checkpoints: at the end of every epoch (checkpointEvery 'epoch') or every K steps,
  // and after the first step ending checkpointSeconds after the last checkpoint. A checkpoint
  // is a copy of the trainer's state, written atomically; resuming from any of them is exact,
  // so when they are written (on a clock, here) only decides how much a crash costs, never
  // the weights: the trained result is the same bits whatever the cadence and the timing.
  const periodic = (o.periodicCheckpoints ?? o.evaluateTest !== false) && cfg.checkpointEvery !== 0;
  const everySteps = typeof cfg.checkpointEvery === 'number' ? cfg.checkpointEvery : 0;
  /** a periodic checkpoint due after the step just taken, if any */
  const due = (): 'steps' | 'seconds' | null => {
    if (!periodic || savedStep === trainer.step) return null;
    if (everySteps > 0 && trainer.step % everySteps === 0) return 'steps';
    if (cfg.checkpointSeconds > 0 && performance.now() - savedAt >= cfg.checkpointSeconds * 1000) return 'seconds';
    return null;
  };
  writeJson(o.outDir, 'config.json', cfg);

  log.info(
    {
      run: o.runId,
      event: resumedFrom ? 'resume' : 'start',
      mode: source.mode,
      model: model.describe(),
      params: model.paramCount,
      dataset: data.name,
      train: split.train.length,
      val: split.val.length,
      test: split.test.length,
      out: o.outDir,
      step: resumedFrom,
    },
    `${resumedFrom ? `resuming at step ${resumedFrom}:` : 'training'} ${model.describe()} on ${data.name} (${split.train.length} train / ${split.val.length} val / ${split.test.length} test) ${source.mode}`,
  );

  o.telemetry?.started({
    mode: source.mode,
    ...(source.threads ? { threads: source.threads } : {}),
    model: model.describe(),
    dataset: data.name,
    batchSize: cfg.batchSize,
    epochs: cfg.epochs,
    stepsPerEpoch: trainer.stepsPerEpoch,
    totalSteps: trainer.totalSteps,
    startStep: resumedFrom,
  });
  let trainMs = 0;
  let trainSamples = 0;
  let last = { loss: NaN, accuracy: NaN };
  let val: EvalResult = { loss: NaN, accuracy: NaN, samples: 0 };
  const bar = o.progress
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
          format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} steps | loss {loss} | {sps} samples/s',
        },
        cliProgress.Presets.shades_classic,
      )
    : null;

  let stoppedEarly = false;
  while (!trainer.done && !stoppedEarly) {
    const epoch = trainer.epoch;
    let epLoss = 0,
      epCorrect = 0,
      epRows = 0,
      epMs = 0,
      lr = 0;
    bar?.start(trainer.stepsPerEpoch, trainer.position, {
      epoch: epoch + 1,
      epochs: cfg.epochs,
      loss: '-',
      sps: '-',
    });
    while (!trainer.done && trainer.epoch === epoch) {
      const stopped = (): null => {
        bar?.stop();
        checkpoint();
        log.info(
          { run: o.runId, event: 'stopped', step: trainer.step },
          `stopped: checkpoint at step ${trainer.step} in ${o.outDir}; run again with the same --out to resume`,
        );
        return null;
      };
      // an in-process step never waits for I/O: let the event loop run once, so a SIGTERM or
      // SIGINT reaches its handler between steps (a few microseconds per step)
      if (o.stopSignal && source.mode === 'in-process') await new Promise((r) => setImmediate(r));
      if (o.stopSignal?.stopped) return stopped();
      const t0 = performance.now();
      const batch = trainer.nextBatch();
      const pending = source.gradient(trainer, batch);
      const g = o.stopSignal ? await o.stopSignal.race(pending) : await pending;
      if (g === null) return stopped();
      const r: StepResult = trainer.applyStep(g.gradSum, g.lossSum, g.correct, batch.length, g.bnStats);
      // time spent waiting for workers to exist is not training time
      const ms = performance.now() - t0 - Number(g.info?.waitMs ?? 0);
      epMs += ms;
      epLoss += r.loss * r.rows;
      epCorrect += r.accuracy * r.rows;
      epRows += r.rows;
      lr = r.lr;
      stepRows.push({ ...r, ms: Math.round(ms * 1000) / 1000 });
      // one line per step is detail (debug): at info a JSON log holds the epochs and events
      if (o.stepEvents && log.isLevelEnabled('debug'))
        log.debug({
          run: o.runId,
          event: 'step',
          step: r.step,
          loss: r.loss,
          ms: Math.round(ms * 100) / 100,
          ...g.info,
        });
      if (o.telemetry) {
        const info = (g.info ?? {}) as Partial<Record<'computeMs' | 'commMs' | 'waitMs' | 'bytes' | 'workers', number>>;
        o.telemetry.step({
          step: r.step,
          epoch: r.epoch,
          t: Date.now(),
          loss: r.loss,
          accuracy: r.accuracy,
          rows: r.rows,
          ms,
          skipped: r.skipped,
          computeMs: info.computeMs,
          commMs: info.commMs,
          waitMs: info.waitMs,
          bytes: info.bytes,
          workers: info.workers,
        });
      }
      // one due at the end of an epoch waits for the epoch's row (epochs.csv), below: a
      // checkpoint never holds a finished epoch whose validation row was not written
      const why = trainer.position === 0 ? null : due();
      if (why) checkpoint(why);
      bar?.update(trainer.position === 0 ? trainer.stepsPerEpoch : trainer.position, {
        loss: (epLoss / epRows).toFixed(4),
        sps: Math.round((epRows / epMs) * 1000),
      });
    }
    bar?.stop();
    trainMs += epMs;
    trainSamples += epRows;
    last = { loss: epLoss / epRows, accuracy: epCorrect / epRows };
    val = trainer.evaluate(split.val);
    const row: EpochRow = {
      epoch: epoch + 1,
      step: trainer.step,
      trainLoss: last.loss,
      trainAccuracy: last.accuracy,
      valLoss: val.loss,
      valAccuracy: val.accuracy,
      lr,
      samplesPerSecond: Math.round((epRows / epMs) * 1000),
      seconds: Math.round(epMs) / 1000,
    };
    epochRows.push({ ...row });
    o.telemetry?.epoch(row);
    writeAtomic(join(o.outDir, 'epochs.csv'), toCsv(epochRows, EPOCH_COLUMNS));
    flushSteps();
    log.info(
      { run: o.runId, event: 'epoch', ...row },
      `epoch ${row.epoch}/${cfg.epochs}  train loss ${last.loss.toFixed(4)} acc ${(last.accuracy * 100).toFixed(2)}%  val loss ${val.loss.toFixed(4)} acc ${(val.accuracy * 100).toFixed(2)}%  ${row.samplesPerSecond} samples/s`,
    );
    // every epoch is reported (the store records it); a 'stop' before the last one ends the run
    if (o.onEpoch?.(row) === 'stop' && !trainer.done) stoppedEarly = true;
    // the run's end writes its own checkpoint
    if (!trainer.done && !stoppedEarly) {
      const why = periodic && cfg.checkpointEvery === 'epoch' && savedStep !== trainer.step ? 'epoch' : due();
      if (why) checkpoint(why);
    }
  }

  const test = o.evaluateTest === false ? null : trainer.evaluate(split.test);
  checkpoint();
  const lastEpoch = epochRows[epochRows.length - 1];
  const summary: RunSummary = {
    runId: o.runId,
    mode: source.mode,
    workers: source.workers(),
    ...(source.threads ? { threads: source.threads } : {}),
    kernel: source.kernel,
    model: model.describe(),
    paramCount: model.paramCount,
    dataset: {
      name: data.name,
      samples: data.n,
      train: split.train.length,
      val: split.val.length,
      test: split.test.length,
      sha256: dataSha,
    },
    steps: trainer.step,
    epochs: trainer.epoch,
    skippedSteps: trainer.skippedSteps,
    resumedFromStep: resumedFrom,
    trainLoss: Number.isNaN(last.loss) ? Number(lastEpoch?.trainLoss) : last.loss,
    trainAccuracy: Number.isNaN(last.accuracy) ? Number(lastEpoch?.trainAccuracy) : last.accuracy,
    valLoss: val.samples ? val.loss : Number(lastEpoch?.valLoss),
    valAccuracy: val.samples ? val.accuracy : Number(lastEpoch?.valAccuracy),
    testLoss: test ? test.loss : null,
    testAccuracy: test ? test.accuracy : null,
    stoppedEarly,
    samplesPerSecond: trainMs > 0 ? Math.round((trainSamples / trainMs) * 1000 * 10) / 10 : 0,
    trainSeconds: Math.round(trainMs) / 1000,
    wallSeconds: Math.round(performance.now() - wallStart) / 1000,
    weightsSha256: sha256Hex(model.stateBytes()),
    config: cfg,
  };
  writeJson(o.outDir, 'summary.json', summary);
  log.info(
    {
      run: o.runId,
      event: 'done',
      testAccuracy: summary.testAccuracy,
      valAccuracy: summary.valAccuracy,
      weightsSha256: summary.weightsSha256,
      out: o.outDir,
    },
    `done${stoppedEarly ? ` (stopped early after epoch ${trainer.epoch})` : ''}: ${test ? `test accuracy ${(test.accuracy * 100).toFixed(2)}%` : `validation accuracy ${(summary.valAccuracy * 100).toFixed(2)}%`}, ${summary.samplesPerSecond} samples/s, outputs in ${o.outDir}`,
  );
  return summary;
}

/** The in-process gradient: this process computes every microbatch. */
export const IN_PROCESS: GradientSource = {
  mode: 'in-process',
  get kernel() {
    return kernelVariant();
  },
  workers: () => 0,
  gradient: (trainer, batch) => trainer.gradientSum(batch),
};
