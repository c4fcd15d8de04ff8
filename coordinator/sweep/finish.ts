// The end of a sweep: the best trial by the config's metric, its configuration evaluated once on
// the test split (the only time a sweep touches it), and the outputs: trials.csv, summary.json
// and report.html in the out dir, the sweep's summary in the store, and the closing log line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCheckpoint } from '../../shared/checkpoint.js';
import type { RunConfig } from '../../shared/config-types.js';
import type { Dataset } from '../../shared/data/dataset.js';
import { Trainer } from '../../shared/engine/trainer.js';
import { applyParams } from '../../shared/sweep/config.js';
import type { SweepConfig, TrialRecord } from '../../shared/sweep/types.js';
import { renderSweepReport } from '../report/sweep-report.js';
import { exportSweepBest } from '../model/export.js';
import { CHECKPOINT_FILE } from '../run/run-loop.js';
import { type SweepSummary, toCsv, writeAtomic, writeJson } from '../store/outputs.js';
import type { Store } from '../store/store.js';
import { better, type OpenOptions } from './start.js';

/** Choose the best trial, test it, write the sweep's outputs and record its summary. */
export function finishSweep(
  o: Pick<OpenOptions, 'outDir' | 'preset' | 'log'>,
  cfg: SweepConfig,
  store: Store,
  sweepId: string,
  dataFor: (c: RunConfig) => { data: Dataset },
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
    exportSweepBest(o.outDir, config, ckpt.state, trainer.data); // the sweep's model.onnx
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
