// What an exporter needs to know of a trained model besides its numbers: the layer list, the
// number of input features and of classes, and each layer's tensors in the flat parameter and
// buffer arrays (Model's own layout, shared/nn/model.ts). Pure: everything comes from the run
// config, the trainer state and the caller's options.
import type { LayerSpec, RunConfig } from '../config-types.js';
import type { TrainerState } from '../engine/trainer.js';
import { UserError } from '../errors.js';
import { IRIS_CLASS_NAMES } from '../data/iris.js';
import { JS_KERNELS } from '../kernels/js.js';
import { Model, expandCompact } from '../nn/model.js';

export interface ExportOptions {
  /** the gradwire version: ONNX producer_version, safetensors `gradwire_version` */
  producerVersion?: string;
  /** input features; needed only when neither the dataset of the config (mnist, iris, the
   *  synthetic sets) nor the parameter count tells (csv and idx data) */
  features?: number;
  /** number of classes; as `features` */
  classes?: number;
  /** a name per class (the dataset's classNames), written into the metadata */
  classNames?: string[];
}

export interface ExportModel {
  specs: LayerSpec[];
  features: number;
  classes: number;
  classNames?: string[];
  /** a Model (JS kernels) holding the state's parameters and buffers */
  model: Model;
  /** BN running statistics were updated this many times (optimizer steps not skipped) */
  bnUpdates: number;
}

/** parameters and buffers of a layer list on `features` inputs (no divisibility checks) */
function sizes(specs: LayerSpec[], features: number): { params: number; buffers: number } {
  let w = features;
  let params = 0;
  let buffers = 0;
  for (const s of specs) {
    switch (s.type) {
      case 'dense':
        params += s.units * (w + 1);
        w = s.units;
        break;
      case 'batchnorm':
        params += 2 * w;
        buffers += 2 * w;
        break;
      case 'layernorm':
      case 'groupnorm':
        params += 2 * w;
        break;
      case 'instancenorm':
        params += 2 * s.channels;
        break;
      default:
        break;
    }
  }
  return { params, buffers };
}

/** features and classes of the built-in datasets, from the config alone */
function fromData(config: RunConfig): { features?: number; classes?: number; classNames?: string[] } {
  const d = config.data;
  switch (d.name) {
    case 'mnist':
      return { features: 784, classes: 10, classNames: Array.from({ length: 10 }, (_, i) => String(i)) };
    case 'iris':
      return { features: 4, classes: 3, classNames: [...IRIS_CLASS_NAMES] };
    case 'moons':
      return { features: 2, classes: 2 };
    case 'spirals':
    case 'blobs':
      return { features: 2, classes: d.classes };
    default:
      return {};
  }
}

/** The smallest whole x ≥ 1 with a + b·x = target, or undefined. */
function solve(a: number, b: number, target: number): number | undefined {
  if (b <= 0) return undefined;
  const x = (target - a) / b;
  return Number.isInteger(x) && x >= 1 ? x : undefined;
}

/** The layer list, the shape and a Model holding `state`, checked against the state's sizes. */
export function exportModel(config: RunConfig, state: TrainerState, opts: ExportOptions = {}): ExportModel {
  const known = fromData(config);
  let features = opts.features ?? known.features;
  let classes = opts.classes ?? known.classes ?? opts.classNames?.length;
  const explicit = config.model.layers;
  if (explicit) {
    const last = [...explicit].reverse().find((s) => s.type === 'dense');
    if (classes === undefined && last?.type === 'dense') classes = last.units;
  }
  const specsFor = (c: number): LayerSpec[] => explicit ?? expandCompact(config.model, c);
  const P = state.params.length;
  if (features === undefined && classes !== undefined) {
    // the parameter count is affine in the number of features
    const s = specsFor(classes);
    const p0 = sizes(s, 0).params;
    features = solve(p0, sizes(s, 1).params - p0, P);
  } else if (classes === undefined && features !== undefined) {
    const p0 = sizes(specsFor(0), features).params;
    classes = solve(p0, sizes(specsFor(1), features).params - p0, P);
  }
  if (features === undefined || classes === undefined) {
    throw new UserError(
      'CHECKPOINT_INVALID',
      `the model's number of ${features === undefined ? 'features' : 'classes'} cannot be told from the config (data.name: ${config.data.name}) and its ${P} parameters; pass it to the export (features, classes)`,
    );
  }
  const specs = specsFor(classes);
  const want = sizes(specs, features);
  if (want.params !== P || want.buffers !== state.buffers.length) {
    throw new UserError(
      'CHECKPOINT_INVALID',
      `the state has ${P} parameters and ${state.buffers.length} buffers; the model of the config on ${features} features and ${classes} classes has ${want.params} and ${want.buffers}`,
    );
  }
  const model = new Model(specs, features, classes, config.model.loss, JS_KERNELS);
  model.params.set(state.params);
  model.buffers.set(state.buffers);
  const classNames = opts.classNames ?? known.classNames;
  if (classNames !== undefined && classNames.length !== classes) {
    throw new UserError('USAGE', `${classNames.length} class names for a model of ${classes} classes`);
  }
  return {
    specs,
    features,
    classes,
    ...(classNames ? { classNames } : {}),
    model,
    bnUpdates: state.step - state.skippedSteps,
  };
}
