// `gradwire train --in-process`: the whole run in one process, no sockets. It is the
// reference that distributed runs must match bit for bit.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';
import type { Logger } from 'pino';
import { encodeCheckpoint } from '../shared/checkpoint.js';
import type { RunConfig } from '../shared/config-types.js';
import { Trainer, type EvalResult } from '../shared/engine/trainer.js';
import { datasetSha256, loadDataset } from './datasets.js';
import { EPOCH_COLUMNS, STEP_COLUMNS, ensureDir, sha256Hex, toCsv, writeAtomic, writeJson } from './outputs.js';

export interface InProcessOptions {
  config: RunConfig;
  baseDir: string;
  outDir: string;
  runId: string;
  log: Logger;
  /** show a progress bar (stderr is a terminal) */
  progress: boolean;
}

export interface RunSummary {
  runId: string;
  mode: 'in-process' | 'distributed';
  workers: number;
  kernel: string;
  model: string;
  paramCount: number;
  dataset: { name: string; samples: number; train: number; val: number; test: number; sha256: string };
  steps: number;
  epochs: number;
  skippedSteps: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  samplesPerSecond: number;
  trainSeconds: number;
  wallSeconds: number;
  weightsSha256: string;
  config: RunConfig;
}

export function runInProcess(o: InProcessOptions): RunSummary {
  const wallStart = performance.now();
  const { config: cfg, log } = o;
  const data = loadDataset(cfg.data, o.baseDir, cfg.seed);
  const dataSha = datasetSha256(data);
  const trainer = new Trainer(cfg, data);
  const { split, model } = trainer;
  ensureDir(o.outDir);
  writeJson(o.outDir, 'config.json', cfg);
  log.info({
    run: o.runId, event: 'start', model: model.describe(), params: model.paramCount, dataset: data.name,
    train: split.train.length, val: split.val.length, test: split.test.length, out: o.outDir,
  }, `training ${model.describe()} on ${data.name} (${split.train.length} train / ${split.val.length} val / ${split.test.length} test) in-process`);

  const epochRows: Array<Record<string, unknown>> = [];
  const stepRows: Array<Record<string, unknown>> = [];
  let trainMs = 0;
  let trainSamples = 0;
  let last = { loss: NaN, accuracy: NaN };
  let val: EvalResult = { loss: NaN, accuracy: NaN, samples: 0 };
  const bar = o.progress
    ? new cliProgress.SingleBar({
      stream: process.stderr,
      format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} steps | loss {loss} | {sps} samples/s',
      hideCursor: true, clearOnComplete: true,
    }, cliProgress.Presets.shades_classic)
    : null;

  while (!trainer.done) {
    const epoch = trainer.epoch;
    let epLoss = 0, epCorrect = 0, epRows = 0, epMs = 0, lr = 0;
    bar?.start(trainer.stepsPerEpoch, trainer.position, { epoch: epoch + 1, epochs: cfg.epochs, loss: '-', sps: '-' });
    while (!trainer.done && trainer.epoch === epoch) {
      const t0 = performance.now();
      const r = trainer.trainStep();
      const ms = performance.now() - t0;
      epMs += ms;
      epLoss += r.loss * r.rows;
      epCorrect += r.accuracy * r.rows;
      epRows += r.rows;
      lr = r.lr;
      stepRows.push({ ...r, ms: Math.round(ms * 1000) / 1000 });
      bar?.update(trainer.position === 0 ? trainer.stepsPerEpoch : trainer.position, {
        loss: (epLoss / epRows).toFixed(4), sps: Math.round((epRows / epMs) * 1000),
      });
    }
    bar?.stop();
    trainMs += epMs;
    trainSamples += epRows;
    last = { loss: epLoss / epRows, accuracy: epCorrect / epRows };
    val = trainer.evaluate(split.val);
    const row = {
      epoch: epoch + 1, step: trainer.step, trainLoss: last.loss, trainAccuracy: last.accuracy,
      valLoss: val.loss, valAccuracy: val.accuracy, lr, samplesPerSecond: Math.round((epRows / epMs) * 1000),
      seconds: Math.round(epMs) / 1000,
    };
    epochRows.push(row);
    writeAtomic(join(o.outDir, 'epochs.csv'), toCsv(epochRows, EPOCH_COLUMNS));
    log.info({ run: o.runId, event: 'epoch', ...row },
      `epoch ${row.epoch}/${cfg.epochs}  train loss ${last.loss.toFixed(4)} acc ${(last.accuracy * 100).toFixed(2)}%  val loss ${val.loss.toFixed(4)} acc ${(val.accuracy * 100).toFixed(2)}%  ${row.samplesPerSecond} samples/s`);
  }

  const test = trainer.evaluate(split.test);
  const state = trainer.state();
  writeAtomic(join(o.outDir, 'checkpoint.gwc'), encodeCheckpoint(cfg, state, dataSha));
  writeAtomic(join(o.outDir, 'steps.csv'), toCsv(stepRows, STEP_COLUMNS));
  const summary: RunSummary = {
    runId: o.runId,
    mode: 'in-process',
    workers: 0,
    kernel: 'js',
    model: model.describe(),
    paramCount: model.paramCount,
    dataset: { name: data.name, samples: data.n, train: split.train.length, val: split.val.length, test: split.test.length, sha256: dataSha },
    steps: trainer.step,
    epochs: trainer.epoch,
    skippedSteps: trainer.skippedSteps,
    trainLoss: last.loss,
    trainAccuracy: last.accuracy,
    valLoss: val.loss,
    valAccuracy: val.accuracy,
    testLoss: test.loss,
    testAccuracy: test.accuracy,
    samplesPerSecond: trainMs > 0 ? Math.round((trainSamples / trainMs) * 1000 * 10) / 10 : 0,
    trainSeconds: Math.round(trainMs) / 1000,
    wallSeconds: Math.round(performance.now() - wallStart) / 1000,
    weightsSha256: sha256Hex(model.stateBytes()),
    config: cfg,
  };
  writeJson(o.outDir, 'summary.json', summary);
  log.info({ run: o.runId, event: 'done', testAccuracy: test.accuracy, weightsSha256: summary.weightsSha256, out: o.outDir },
    `done: test accuracy ${(test.accuracy * 100).toFixed(2)}%, ${summary.samplesPerSecond} samples/s, outputs in ${o.outDir}`);
  return summary;
}
