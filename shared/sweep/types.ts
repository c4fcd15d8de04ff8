// Hyperparameter sweeps: the resolved sweep config and the records samplers and reports read.
import type { RunConfig } from '../config-types.js';
import type { Spread } from './stats.js';

export type ParamSpec =
  | { distribution: 'uniform'; min: number; max: number }
  | { distribution: 'log_uniform'; min: number; max: number }
  | { distribution: 'int'; min: number; max: number }
  | { distribution: 'values'; values: unknown[] };

export type SweepMethod = 'grid' | 'random' | 'tpe' | 'narrow';

export interface SweepConfig {
  /** the run config every trial starts from (resolved) */
  base: RunConfig;
  method: SweepMethod;
  metric: { name: 'valAccuracy' | 'valLoss'; goal: 'maximize' | 'minimize' };
  /** trials to run (grid: at most the size of the grid) */
  trials: number;
  /** trials at once; null = one per available worker group */
  concurrency: number | null;
  /** compute threads (trial seats) per trial, on one worker or several */
  workersPerTrial: number;
  /** seeds the sampler (default: base.seed) */
  seed: number;
  /** K: every configuration is trained with K seeds (seed runs); its metric is their mean */
  seeds: number;
  /** dotted run-config path → its search space, in the order written */
  parameters: Record<string, ParamSpec>;
  earlyStopping: { type: 'asha'; minEpochs: number; reductionFactor: number } | null;
  /** tpe: random start-up trials, then model-guided (samplers.ts specifies the algorithm) */
  tpe: {
    startupTrials: number;
    /** fraction of the observations taken as "good"; null = min(⌈0.1·n⌉, 25) of n */
    gamma: number | null;
    /** candidates drawn from the good model per suggestion */
    candidates: number;
    /** one joint Parzen estimator over all parameters instead of one per parameter */
    multivariate: boolean;
    /** running and queued trials count as bad observations, so concurrent suggestions spread */
    constantLiar: boolean;
  };
  /** narrow: rounds of trials/rounds each; each numeric range shrinks around the best `keep`
   *  fraction of the previous rounds' trials */
  narrow: { rounds: number; keep: number };
}

export type TrialStatus = 'queued' | 'running' | 'finished' | 'stopped' | 'failed';

/** One trial as the samplers, the scheduler and the report see it. */
export interface TrialRecord {
  /** 0-based suggestion index: trial i's parameters are a function of the sweep and of the
   *  trials that finished before it was suggested */
  index: number;
  params: Record<string, unknown>;
  status: TrialStatus;
  /** the metric's value at the last evaluated epoch (null until one is) */
  value: number | null;
  valAccuracy: number | null;
  /** epochs trained (ASHA may stop a trial early) */
  epochs: number;
  /** per-epoch validation accuracy and training loss (with seeds: the mean over the seed runs
   *  that reached the epoch) */
  curve: Array<{ epoch: number; valAccuracy: number; valLoss: number; trainLoss: number }>;
  // Seeds (issue 16): absent in records made before seeds existed and in hand-made ones; a
  // reader takes absent as one seed run whose value is `value`.
  /** the configuration's K seed runs, by seed index (K = SweepConfig.seeds; one when 1) */
  seeds?: SeedRecord[];
  /** `value` over the seeds (mean, sd, 95% interval); null until a seed has a value */
  spread?: Spread | null;
  /** `valAccuracy` over the seeds; null until a seed has one */
  valAccuracySpread?: Spread | null;
}

/** One seed run of a trial: the trial's configuration with run seed `seed`. */
export interface SeedRecord {
  /** 0..K-1 */
  seedIndex: number;
  /** the run config's seed (initialization, epoch order and dropout streams; the data split is
   *  the base's for every seed) */
  seed: number;
  runId: string | null;
  status: TrialStatus;
  value: number | null;
  valAccuracy: number | null;
  epochs: number;
}
