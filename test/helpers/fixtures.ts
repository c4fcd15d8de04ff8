// Small datasets and configs for tests.
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import type { ModelConfig, OptimizerConfig, RunConfig } from '../../shared/config-types.js';
import type { Dataset } from '../../shared/data/dataset.js';
import type { Split } from '../../shared/engine/trainer.js';
import { Rng } from '../../shared/rng.js';

/** n samples of `features` Gaussian features whose class shifts the mean of a few of them. */
export function toyData(n: number, features: number, classes: number, seed = 1): Dataset {
  const rng = new Rng(seed, 'toy');
  const x = new Float32Array(n * features);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = c;
    for (let f = 0; f < features; f++) x[i * features + f] = rng.normal() + (f % classes === c ? 1.5 : 0);
  }
  return { name: 'toy', n, features, classes, x, y };
}

export function allTrain(n: number): Split {
  return {
    train: Int32Array.from({ length: n }, (_, i) => i),
    val: new Int32Array(0),
    test: new Int32Array(0),
  };
}

export function config(
  over: {
    model?: Partial<ModelConfig>;
    optimizer?: Partial<OptimizerConfig>;
    batchSize?: number;
    microbatch?: number;
    epochs?: number;
    seed?: number;
  } = {},
): RunConfig {
  const d = DEFAULT_RUN_CONFIG;
  return {
    ...d,
    seed: over.seed ?? 3,
    batchSize: over.batchSize ?? 32,
    microbatch: over.microbatch ?? 16,
    epochs: over.epochs ?? 1,
    model: { ...d.model, hidden: [12, 8], ...over.model } as ModelConfig,
    optimizer: { ...d.optimizer, ...over.optimizer },
  };
}

/** A small sweep on iris as YAML (MLP [16] tanh, Adam, batch 16, microbatch 8, 2 trials at a
 *  time, metric valAccuracy): learning rate log-uniform from lrMin to 0.3, dropout among
 *  `dropout`, and (unless init: false) he_normal or xavier_uniform init. */
export function irisSweep(o: {
  trials: number;
  epochs: number;
  method?: string;
  seed?: number;
  lrMin?: number;
  dropout?: number[];
  init?: boolean;
  extra?: string;
}): string {
  return `
run:
  seed: 4
  data: { name: iris }
  model: { hidden: [16], activation: tanh }
  optimizer: { name: adam }
  batchSize: 16
  microbatch: 8
  epochs: ${o.epochs}
method: ${o.method ?? 'random'}
metric: { name: valAccuracy, goal: maximize }
trials: ${o.trials}
concurrency: 2
${o.seed === undefined ? '' : `seed: ${o.seed}\n`}parameters:
  optimizer.lr: { distribution: log_uniform, min: ${o.lrMin ?? 0.001}, max: 0.3 }
  model.dropout: { values: [${(o.dropout ?? [0, 0.2, 0.5]).join(', ')}] }
${o.init === false ? '' : '  model.init: { values: [he_normal, xavier_uniform] }\n'}${o.extra ?? ''}`;
}

/** Spirals (3,000 samples, 3 classes: 2,400 training), MLP [32, 32] tanh with BatchNorm and
 *  dropout 0.2, Adam, batch 48, microbatch 8: 50 steps an epoch, each with SyncBN rounds and
 *  dropout masks — a small run that exercises what exactness depends on. */
export const spiralsRun = (epochs: number): string => `
seed: 7
data: { name: spirals, samples: 3000, classes: 3, noise: 0.2 }
model: { hidden: [32, 32], activation: tanh, norm: batch, dropout: 0.2 }
optimizer: { name: adam, lr: 0.005 }
batchSize: 48
microbatch: 8
epochs: ${epochs}
`;
