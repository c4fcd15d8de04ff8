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
import { type Spread, spread } from '../../shared/sweep/stats.js';
import type { SweepConfig, TrialRecord } from '../../shared/sweep/types.js';
import { renderSweepReport } from '../report/sweep-report.js';
import { exportSweepBest } from '../model/export.js';
import { CHECKPOINT_FILE } from '../run/run-loop.js';
import { type SweepSummary, toCsv, writeAtomic, writeJson } from '../store/outputs.js';
import type { Store } from '../store/store.js';
import { better, type OpenOptions, seedRunConfig, seedRunDir } from './start.js';

/** trials.csv's columns with seeds (K > 1), after the columns of a sweep without: the seed runs
 *  counted, the value's sd and 95% interval, valAccuracy's, and each seed run's value */
export const seedColumnNames = (K: number): string[] => [
  'seeds',
  'valueSd',
  'valueLo',
  'valueHi',
  'valAccuracySd',
  'valAccuracyLo',
  'valAccuracyHi',
  ...Array.from({ length: K }, (_, k) => `valueSeed${k}`),
];

function seedColumns(t: TrialRecord, K: number): Record<string, unknown> {
  const v = t.spread ?? null;
  const a = t.valAccuracySpread ?? null;
  return {
    seeds: v?.n ?? 0,
    valueSd: v?.sd ?? '',
    valueLo: v?.lo ?? '',
    valueHi: v?.hi ?? '',
    valAccuracySd: a?.sd ?? '',
    valAccuracyLo: a?.lo ?? '',
    valAccuracyHi: a?.hi ?? '',
    ...Object.fromEntries(
      Array.from({ length: K }, (_, k) => [`valueSeed${k}`, t.seeds?.find((x) => x.seedIndex === k)?.value ?? '']),
    ),
  };
}

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
  // the test split is touched once: for the chosen configuration, here (with seeds: each of its
  // seed runs' weights; the test accuracy is their mean)
  let testAccuracy: number | null = null;
  let bestSeeds: NonNullable<SweepSummary['best']>['seeds'] = [];
  let testSpread: Spread | null = null;
  if (best) {
    const trialConfig = applyParams(cfg.base, best.params);
    const seeds = best.seeds ?? [
      {
        seedIndex: 0,
        seed: trialConfig.seed,
        runId: null,
        status: best.status,
        value: best.value,
        valAccuracy: best.valAccuracy,
        epochs: best.epochs,
      },
    ];
    bestSeeds = seeds.map((x) => {
      const config = seedRunConfig(trialConfig, x.seedIndex, x.seed);
      const ckptPath = join(seedRunDir(o.outDir, best.index, x.seedIndex), CHECKPOINT_FILE);
      const ckpt = decodeCheckpoint(readFileSync(ckptPath), ckptPath);
      const trainer = new Trainer(config, dataFor(config).data);
      trainer.restore(ckpt.state);
      // the sweep's model.onnx: the best configuration's own run (seed run 0)
      if (x.seedIndex === 0) exportSweepBest(o.outDir, config, ckpt.state, trainer.data);
      return { ...x, testAccuracy: trainer.evaluate(trainer.split.test).accuracy };
    });
    testSpread = spread(bestSeeds.map((x) => x.testAccuracy));
    testAccuracy = testSpread?.mean ?? null;
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
          spread: best.spread ?? spread([best.value]),
          valAccuracySpread: best.valAccuracySpread ?? spread([best.valAccuracy]),
          testAccuracySpread: testSpread,
          seeds: bestSeeds,
        }
      : null,
    seeds: cfg.seeds,
    epochsTrained: trials.reduce((a, t) => a + t.epochs, 0),
    wallSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
  const paramKeys = Object.keys(cfg.parameters);
  const K = cfg.seeds;
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
        ...(K > 1 ? seedColumns(t, K) : {}),
      })),
      ['id', ...paramKeys, 'valAccuracy', 'value', 'epochs', 'status', ...(K > 1 ? seedColumnNames(K) : [])],
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
  /** 85.00%, with seeds 85.00% [81.20, 88.80] */
  const pct = (v: number | null, sp: Spread | null | undefined): string =>
    `${((v ?? NaN) * 100).toFixed(2)}%${K > 1 && sp ? ` [${(sp.lo * 100).toFixed(2)}, ${(sp.hi * 100).toFixed(2)}]` : ''}`;
  o.log.info(
    { event: 'sweep-done', sweep: sweepId, ...summary },
    summary.best
      ? `sweep ${sweepId} done: ${summary.trials} trials; best #${summary.best.index} ${JSON.stringify(summary.best.params)}: validation accuracy ${pct(summary.best.valAccuracy, summary.best.valAccuracySpread)}, test accuracy ${pct(testAccuracy, testSpread)}${K > 1 ? ` (means over ${K} seeds, 95% intervals)` : ''}; report in ${join(o.outDir, 'report.html')}`
      : `sweep ${sweepId} done: no trial finished`,
  );
  return summary;
}
