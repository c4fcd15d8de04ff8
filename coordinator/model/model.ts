// A resolved checkpoint made ready to run: the model with its trained parameters and BN
// buffers, its input width and classes, the class names as training's labels mapped them, and
// the eval-mode forward pass (the trainer's evalSlot: dropout off, BN on its running
// statistics) over rows in slots, with softmax probabilities.
import '../../shared/node/kernels-wasm.js';
import type { Dataset } from '../../shared/data/dataset.js';
import { iris } from '../../shared/data/iris.js';
import { evalSlot, newSlot, type Slot } from '../../shared/engine/pass.js';
import { UserError } from '../../shared/errors.js';
import { createKernels } from '../../shared/kernels/index.js';
import { Model } from '../../shared/nn/model.js';
import { datasetSha256, loadDataset } from '../run/datasets.js';
import type { ResolvedModel } from './resolve.js';

export interface LoadedModel {
  resolved: ResolvedModel;
  model: Model;
  features: number;
  classes: number;
  /** class i's name (training's label; the index as text when training had no names) */
  classNames: string[];
  /** training's labels were all numbers: an input label is matched by its value ("1.0" is "1") */
  numericLabels: boolean;
  /** the CSV column holding the label: training's data.labelColumn, else "label" */
  labelColumn: string;
  /** the training dataset, when it had to be loaded */
  training: Dataset | null;
}

/** The run's training dataset, its data paths taken relative to `cwd` (where the run was
 *  started, for a config's relative paths), checked against the checkpoint's dataset sha256. */
export function trainingDataset(r: ResolvedModel, cwd: string): Dataset {
  const cfg = r.checkpoint.config;
  let data: Dataset;
  try {
    data = loadDataset(cfg.data, r.info?.dataDir ?? cwd, cfg.seed);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    throw new UserError(
      'DATA_NOT_FOUND',
      `the training data of ${r.what} cannot be loaded (${e.message}); run from the folder its config's data paths are relative to, or give --input`,
    );
  }
  const sha = r.checkpoint.datasetSha256;
  if (sha && datasetSha256(data) !== sha)
    throw new UserError(
      'DATA_INVALID',
      `the training data of ${r.what} has changed since the run (dataset ${sha.slice(0, 12)}…, now ${datasetSha256(data).slice(0, 12)}…); give --input`,
    );
  return data;
}

function dimsOf(summary: ResolvedModel['summary']): { features: number; classes: number } | null {
  const parts = typeof summary?.model === 'string' ? summary.model.split('-').map(Number) : [];
  if (parts.length < 2 || !parts.every((p) => Number.isSafeInteger(p) && p > 0)) return null;
  return { features: parts[0]!, classes: parts[parts.length - 1]! };
}

const digits = (k: number): string[] => Array.from({ length: k }, (_, i) => String(i));

/** `warn`: where a warning goes (stderr by default; the report's evaluation keeps its own) */
export function loadModel(
  r: ResolvedModel,
  cwd: string,
  warn: (message: string) => void = (w) => process.stderr.write(`gradwire: warning: ${w}\n`),
): LoadedModel {
  const cfg = r.checkpoint.config;
  let training: Dataset | null = null;
  let dims = dimsOf(r.summary);
  let classNames: string[] | undefined;
  if (r.info) {
    dims = { features: r.info.features, classes: r.info.classes };
    classNames = r.info.classNames;
  } else if (cfg.data.name === 'mnist') {
    dims ??= { features: 784, classes: 10 };
    classNames = digits(10);
  } else if (cfg.data.name === 'iris') {
    training = iris();
    classNames = training.classNames;
  } else if (cfg.data.name === 'csv' || !dims) {
    // the CSV's labels name the classes: the training file is read for them
    try {
      training = trainingDataset(r, cwd);
    } catch (e) {
      if (!dims) throw e;
      warn(`classes are shown by number: ${(e as Error).message.replace(/; run from.*$/, '')}`);
    }
    classNames = training?.classNames;
  }
  if (training) dims = { features: training.features, classes: training.classes };
  const { features, classes } = dims!;
  classNames ??= digits(classes);
  const model = Model.fromConfig(cfg.model, features, classes, createKernels());
  const s = r.checkpoint.state;
  if (s.params.length !== model.params.length || s.buffers.length !== model.buffers.length)
    throw new UserError(
      'CHECKPOINT_INVALID',
      `--model: ${r.checkpointPath} holds ${s.params.length} parameters and ${s.buffers.length} buffers, but its config's model (${features} inputs, ${classes} classes) has ${model.params.length} and ${model.buffers.length}: the checkpoint is damaged`,
    );
  model.params.set(s.params);
  model.buffers.set(s.buffers);
  const numericLabels = classNames.every((c) => c.trim() !== '' && Number.isFinite(Number(c)));
  return {
    resolved: r,
    model,
    features,
    classes,
    classNames,
    numericLabels,
    labelColumn: cfg.data.name === 'csv' && cfg.data.labelColumn ? cfg.data.labelColumn : 'label',
    training,
  };
}

/** The eval-mode forward pass over rows, `capacity` rows at a time (the trainer's
 *  evaluate uses min(microbatch, batchSize): the same slots give the same loss sum). */
export class Runner {
  private readonly slot: Slot;
  /** probabilities of the last run, rows × classes */
  probs: Float64Array;
  /** argmax of the logits (the first of equal ones) */
  predicted: Int32Array;
  constructor(
    readonly m: LoadedModel,
    readonly capacity: number,
    maxRows: number,
  ) {
    this.slot = newSlot(m.model, capacity);
    this.probs = new Float64Array(maxRows * m.classes);
    this.predicted = new Int32Array(maxRows);
  }

  /** Forward `rows` rows of x (rows × features); labels (or none: class 0) for the loss sum. */
  /** the loss sums of all runs so far, added slot by slot in order (as the trainer's evaluate) */
  lossSum = 0;

  run(x: Float32Array, rows: number, labels: Int32Array | null): void {
    const { model, features: F, classes: C } = this.m;
    const slot = this.slot;
    const last = model.layers.length - 1;
    for (let start = 0; start < rows; start += this.capacity) {
      const r = Math.min(this.capacity, rows - start);
      slot.x.set(x.subarray(start * F, (start + r) * F));
      if (labels) slot.labels.set(labels.subarray(start, start + r));
      else slot.labels.fill(0);
      slot.rows = r;
      this.lossSum += evalSlot(model, slot).lossSum;
      softmaxRows(slot.caches[last]!.out, r, C, this.probs, this.predicted, start);
    }
  }
}

/** Rows `at`..`at+rows` of probs (rows × C, float64) and predicted from `rows` rows of logits:
 *  softmax after subtracting the row's max, and the argmax (the first of equal ones). */
export function softmaxRows(
  logits: Float32Array,
  rows: number,
  C: number,
  probs: Float64Array,
  predicted: Int32Array,
  at: number,
): void {
  for (let i = 0; i < rows; i++) {
    const o = i * C;
    let best = 0;
    let max = logits[o]!;
    for (let c = 1; c < C; c++)
      if (logits[o + c]! > max) {
        max = logits[o + c]!;
        best = c;
      }
    let sum = 0;
    const p = (at + i) * C;
    for (let c = 0; c < C; c++) {
      const e = Math.exp(logits[o + c]! - max);
      probs[p + c] = e;
      sum += e;
    }
    for (let c = 0; c < C; c++) probs[p + c]! /= sum;
    predicted[at + i] = best;
  }
}
