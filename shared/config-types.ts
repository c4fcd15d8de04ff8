// The resolved run configuration: what `parseRunConfig` (shared/config.ts) returns after
// validation, with every default filled in. The rest of the code reads only this shape.

export const ACTIVATIONS = [
  'relu',
  'leaky_relu',
  'elu',
  'selu',
  'gelu',
  'sigmoid',
  'tanh',
  'softplus',
  'silu',
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

export const INITIALIZERS = [
  'lecun_normal',
  'lecun_uniform',
  'xavier_normal',
  'xavier_uniform',
  'he_normal',
  'he_uniform',
  'zeros',
] as const;
export type InitName = (typeof INITIALIZERS)[number];

export const NORMS = ['none', 'batch', 'layer', 'group', 'instance'] as const;
export type NormName = (typeof NORMS)[number];

/** inverted: scale kept units by 1/(1-p) in training, identity at eval (PyTorch).
 *  scale_at_test: the lecture's variant, no scaling in training, multiply by (1-p) at eval. */
export const DROPOUT_MODES = ['inverted', 'scale_at_test'] as const;
export type DropoutMode = (typeof DROPOUT_MODES)[number];

export const LOSSES = ['cross_entropy', 'mse'] as const;
export type LossName = (typeof LOSSES)[number];

export const OPTIMIZERS = [
  'sgd',
  'momentum',
  'nesterov',
  'adagrad',
  'rmsprop',
  'adadelta',
  'adam',
  'adamw',
  'nadam',
] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

export const DATASETS = ['mnist', 'iris', 'spirals', 'moons', 'blobs', 'idx', 'csv'] as const;
export type DatasetName = (typeof DATASETS)[number];

export type LayerSpec =
  | { type: 'dense'; units: number; init: InitName }
  | { type: 'activation'; name: ActivationName }
  | { type: 'batchnorm' }
  | { type: 'layernorm' }
  | { type: 'groupnorm'; groups: number }
  | { type: 'instancenorm'; channels: number }
  | { type: 'dropout'; rate: number; mode: DropoutMode };

/** The norm of the compact form, with its key: `groups` only for norm group, `channels` only
 *  for norm instance (a resolved config names no key that is not used). */
export type ModelNorm =
  | { norm: Exclude<NormName, 'group' | 'instance'> }
  /** groups (default 8) must divide each width */
  | { norm: 'group'; groups: number }
  /** channels (default 8) must divide each width */
  | { norm: 'instance'; channels: number };

export type ModelConfig = ModelBase & ModelNorm;

export interface ModelBase {
  /** compact MLP form (used when `layers` is absent) */
  hidden: number[];
  activation: ActivationName;
  init: InitName;
  dropout: number;
  dropoutMode: DropoutMode;
  /** explicit layer list; when given, the compact keys other than `loss` are not used.
   *  The final Dense to the number of classes is NOT added automatically in this form. */
  layers?: LayerSpec[];
  loss: LossName;
}

/** A schedule's keys are present exactly when its `name` uses them (SCHEDULE_KEYS in
 *  shared/config.ts): a resolved config records what runs, and names no key that would not. */
export interface ScheduleConfig {
  name: 'constant' | 'step' | 'exponential' | 'cosine';
  /** step: multiply by gamma every stepSize epochs */
  stepSize?: number;
  /** step and exponential: the factor (exponential: per epoch) */
  gamma?: number;
  /** cosine: the floor the LR anneals to over the whole run */
  minLr?: number;
  /** linear warmup from lr/warmupSteps... to lr over this many optimizer steps (0 = none) */
  warmupSteps: number;
}

/** The optional hyperparameters are present exactly when `name` uses them (OPTIMIZER_KEYS in
 *  shared/config.ts): a resolved config records what runs, and names no key that would not. */
export interface OptimizerConfig {
  name: OptimizerName;
  lr: number;
  /** momentum, nesterov */
  momentum?: number;
  /** adam, adamw, nadam */
  beta1?: number;
  beta2?: number;
  /** adagrad, rmsprop, adadelta, adam, adamw, nadam (per-optimizer PyTorch default) */
  eps?: number;
  /** rmsprop smoothing */
  alpha?: number;
  /** adadelta */
  rho?: number;
  /** nadam momentum_decay */
  momentumDecay?: number;
  weightDecay: number;
  /** l2: g += λθ before the update; decoupled: θ -= lr·λθ before the update (AdamW).
   *  As it runs: adamw is always decoupled. */
  decay: 'l2' | 'decoupled';
  /** clip the gradient to this global L2 norm (0 = off) */
  clipNorm: number;
  schedule: ScheduleConfig;
}

export interface DataConfig {
  name: DatasetName;
  /** train / validation / test fractions, summing to 1 */
  split: [number, number, number];
  /** idx: images and labels files; csv: path and labelColumn */
  images?: string;
  labels?: string;
  path?: string;
  labelColumn?: string;
  /** synthetic sets: sample count, classes, noise */
  samples: number;
  classes: number;
  noise: number;
  /** the seed of the train/validation/test split and of the synthetic sets' samples; absent =
   *  `seed` (present only when written: a sweep's seed runs k >= 1 train with seed + k on the
   *  split and dataset of `seed`) */
  splitSeed?: number;
}

export interface RunConfig {
  seed: number;
  data: DataConfig;
  model: ModelConfig;
  optimizer: OptimizerConfig;
  batchSize: number;
  /** samples per microbatch: the unit of work and of gradient reduction */
  microbatch: number;
  epochs: number;
  /** when to write checkpoint.gwc besides the end and SIGTERM/SIGINT: at the end of every
   *  epoch ('epoch'), every K optimizer steps (K > 0), or never (0, which also turns
   *  checkpointSeconds off). When checkpoints are written never changes the trained weights. */
  checkpointEvery: 'epoch' | number;
  /** also checkpoint after the first step that ends ≥ this many seconds after the last
   *  checkpoint (0 = off; unused when checkpointEvery is 0) */
  checkpointSeconds: number;
  /** what to do when a loss or gradient is not finite */
  onNonFinite: 'stop' | 'skip';
}

/** the seed of a run's data split and synthetic dataset: data.splitSeed, else seed */
export const splitSeedOf = (cfg: Pick<RunConfig, 'seed' | 'data'>): number => cfg.data.splitSeed ?? cfg.seed;
