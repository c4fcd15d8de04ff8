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

export interface ModelConfig {
  /** compact MLP form (used when `layers` is absent) */
  hidden: number[];
  activation: ActivationName;
  init: InitName;
  norm: NormName;
  /** groups for norm: group (default 8 → must divide each width); channels for norm: instance */
  groups: number;
  channels: number;
  dropout: number;
  dropoutMode: DropoutMode;
  /** explicit layer list; when given, the compact keys other than `loss` are not used.
   *  The final Dense to the number of classes is NOT added automatically in this form. */
  layers?: LayerSpec[];
  loss: LossName;
}

export interface ScheduleConfig {
  name: 'constant' | 'step' | 'exponential' | 'cosine';
  /** step: multiply by gamma every stepSize epochs */
  stepSize: number;
  /** step and exponential: the factor (exponential: per epoch) */
  gamma: number;
  /** cosine: the floor the LR anneals to over the whole run */
  minLr: number;
  /** linear warmup from lr/warmupSteps... to lr over this many optimizer steps (0 = none) */
  warmupSteps: number;
}

export interface OptimizerConfig {
  name: OptimizerName;
  lr: number;
  /** momentum, nesterov */
  momentum: number;
  /** adam, adamw, nadam */
  beta1: number;
  beta2: number;
  /** per-optimizer PyTorch default when not given */
  eps: number;
  /** rmsprop smoothing */
  alpha: number;
  /** adadelta */
  rho: number;
  /** nadam momentum_decay */
  momentumDecay: number;
  weightDecay: number;
  /** l2: g += λθ before the update; decoupled: θ -= lr·λθ before the update (AdamW) */
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
  /** checkpoint every K optimizer steps (0 = only at the end) */
  checkpointEvery: number;
  /** what to do when a loss or gradient is not finite */
  onNonFinite: 'stop' | 'skip';
}
