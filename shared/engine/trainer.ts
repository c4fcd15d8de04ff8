// The training loop's state machine, pure and I/O-free: which samples each step uses, the
// microbatches, reduction in the fixed tree, the optimizer, BN running statistics, and the
// data-order position that a checkpoint restores. `gradwire train --in-process` drives it
// directly; the distributed coordinator computes the same step with remote microbatches.
import { type RunConfig, splitSeedOf } from '../config-types.js';
import type { Dataset } from '../data/dataset.js';
import { epochOrder, stratifiedSplit } from '../data/split.js';
import { UserError } from '../errors.js';
import { createKernels } from '../kernels/index.js';
import { Model } from '../nn/model.js';
import { type BatchNorm, addSums, combineStats } from '../nn/norms.js';
import { createOptimizer, loadOptimizerState, optimizerState, optimizerStep, type Optimizer } from '../optim/index.js';
import {
  evalSlot,
  fillSlot,
  newSlot,
  trainPass,
  type PassOutcome,
  type Slot,
  type SyncReply,
  type SyncRequest,
} from './pass.js';
import { addIntoWith, alignedBlocks, treeReduce } from './reduce.js';

export interface Split {
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
}

export interface StepResult {
  step: number;
  epoch: number;
  rows: number;
  loss: number;
  accuracy: number;
  lr: number;
  gradNorm: number;
  skipped: boolean;
}

export interface EvalResult {
  loss: number;
  accuracy: number;
  samples: number;
}

export interface TrainerState {
  step: number;
  epoch: number;
  /** steps already done in the current epoch */
  position: number;
  skippedSteps: number;
  params: Float32Array;
  buffers: Float32Array;
  optimizer: ReturnType<typeof optimizerState>;
}

/** Cut a global batch into microbatches of at most `size` samples, in order. */
export function microbatches(batch: Int32Array, size: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let i = 0; i < batch.length; i += size) out.push(batch.subarray(i, Math.min(i + size, batch.length)));
  return out;
}

/** Reduce the partial values of one BatchNorm sync in microbatch order. */
export function reduceSync(req: SyncRequest): SyncReply {
  return req.kind === 'bn-forward' ? treeReduce(req.partials, combineStats) : treeReduce(req.partials, addSums);
}

/** Run a training pass to completion in this process, reducing every BN sync at once. */
export function runPassLocally(model: Model, slots: Slot[], seed: number, step: number, reduce = false): PassOutcome {
  const pass = trainPass(model, slots, seed, step, reduce);
  let r = pass.next();
  while (!r.done) r = pass.next(reduceSync(r.value));
  return r.value;
}

export class Trainer {
  readonly model: Model;
  readonly optimizer: Optimizer;
  readonly split: Split;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  step = 0;
  epoch = 0;
  position = 0;
  skippedSteps = 0;
  private order: Int32Array;
  private readonly slots: Slot[];
  private readonly meanGrad: Float32Array;
  /** a gradient sum from elsewhere (the wire), copied into the kernels' memory */
  private readonly sumIn: Float32Array;
  /** left += right in the model's kernels (bit-identical to reduce.ts addInto) */
  private readonly addInto: (left: Float32Array, right: Float32Array) => Float32Array;

  constructor(
    readonly cfg: RunConfig,
    readonly data: Dataset,
    split?: Split,
  ) {
    this.split = split ?? stratifiedSplit(data.y, data.classes, cfg.data.split, splitSeedOf(cfg));
    if (this.split.train.length === 0)
      throw new UserError('DATA_INVALID', 'the training split is empty; use more data or a larger data.split[0]');
    this.model = Model.fromConfig(cfg.model, data.features, data.classes, createKernels()).reset(cfg.seed);
    this.optimizer = createOptimizer(cfg.optimizer, this.model.paramCount, this.model.k);
    this.stepsPerEpoch = Math.ceil(this.split.train.length / cfg.batchSize);
    this.totalSteps = this.stepsPerEpoch * cfg.epochs;
    this.order = epochOrder(this.split.train, cfg.seed, 0);
    const mb = Math.min(cfg.microbatch, cfg.batchSize);
    this.slots = Array.from({ length: Math.ceil(cfg.batchSize / mb) }, () => newSlot(this.model, mb));
    this.meanGrad = this.model.k.alloc(this.model.paramCount);
    this.sumIn = this.model.k.alloc(this.model.paramCount);
    this.addInto = addIntoWith(this.model.k);
  }

  get done(): boolean {
    return this.epoch >= this.cfg.epochs;
  }

  /** the sample indices of the next step's global batch */
  nextBatch(): Int32Array {
    return this.batchAt(this.order, this.position);
  }

  /** the sample indices of the batch at `position` of an epoch's order */
  private batchAt(order: Int32Array, position: number): Int32Array {
    const B = this.cfg.batchSize;
    const start = position * B;
    return order.subarray(start, Math.min(start + B, order.length));
  }

  /** Forward and backward over a global batch at the current step, in microbatches: the
   *  gradient sum reduced in the fixed tree, the loss sum, the correct count, and the global
   *  BN statistics. Changes no parameter. gradSum is a buffer the trainer reuses: copy it to keep it. */
  gradientSum(batch: Int32Array): {
    gradSum: Float32Array;
    lossSum: number;
    correct: number;
    bnStats: Map<number, Float64Array>;
  } {
    const parts = microbatches(batch, Math.min(this.cfg.microbatch, this.cfg.batchSize));
    const slots = this.slots.slice(0, parts.length);
    parts.forEach((p, i) => fillSlot(slots[i]!, this.data, p, i));
    // the pass sums each aligned block of microbatches as it goes; the blocks' sums are then
    // reduced in the same fixed tree (the result is that of the tree over all microbatches)
    const outcome = runPassLocally(this.model, slots, this.cfg.seed, this.step, true);
    const roots = alignedBlocks(0, slots.length).map((b) => ({ ...b, value: slots[b.start]!.grads }));
    return {
      gradSum: treeReduce(roots, this.addInto, true),
      lossSum: treeReduce(
        slots.map((s) => s.lossSum),
        (a, b) => a + b,
      ),
      correct: slots.reduce((a, s) => a + s.correct, 0),
      bnStats: outcome.bnStats,
    };
  }

  /** One optimizer step on the next global batch. */
  trainStep(): StepResult {
    if (this.done) throw new Error('training is finished');
    const batch = this.nextBatch();
    const r = this.gradientSum(batch);
    return this.applyStep(r.gradSum, r.lossSum, r.correct, batch.length, r.bnStats);
  }

  /** The coordinator's half of a step: mean gradient, non-finite check, optimizer, BN
   *  running statistics, position. `gradSum` is the tree-reduced sum over the batch. */
  applyStep(
    gradSum: Float32Array,
    lossSum: number,
    correct: number,
    rows: number,
    bnStats: Map<number, Float64Array>,
  ): StepResult {
    const g = this.meanGrad;
    // gradSum may come from the wire (not the kernels' memory): then the mean is computed here
    let sum = gradSum;
    if (!this.model.k.owns(gradSum)) {
      this.sumIn.set(gradSum);
      sum = this.sumIn;
    }
    const finite = this.model.k.meanGradient(sum, g, rows, g.length) && Number.isFinite(lossSum);
    const result: StepResult = {
      step: this.step,
      epoch: this.epoch,
      rows,
      loss: lossSum / rows,
      accuracy: correct / rows,
      lr: 0,
      gradNorm: NaN,
      skipped: false,
    };
    if (!finite) {
      if (this.cfg.onNonFinite === 'stop') {
        throw new UserError(
          'NON_FINITE',
          `step ${this.step} (epoch ${this.epoch + 1}): the loss or gradient is not finite (loss ${lossSum / rows}); lower optimizer.lr, set optimizer.clipNorm, or set onNonFinite: skip`,
        );
      }
      this.skippedSteps++;
      result.skipped = true;
    } else {
      const r = optimizerStep(this.optimizer, this.cfg.optimizer, this.model.params, g, {
        step: this.step,
        stepsPerEpoch: this.stepsPerEpoch,
        totalSteps: this.totalSteps,
      });
      result.lr = r.lr;
      result.gradNorm = r.gradNorm;
      for (const [i, stats] of bnStats) (this.model.layers[i] as BatchNorm).updateRunning(stats);
    }
    this.advance();
    return result;
  }

  private advance(): void {
    this.step++;
    this.position++;
    if (this.position >= this.stepsPerEpoch) {
      this.position = 0;
      this.epoch++;
      if (!this.done) this.order = this.orderOf(this.epoch);
    }
  }

  /** The batch of the step after the current one, or null when the run ends with the current
   *  step. Lets a distributed source hand out the next step's samples while this one finishes. */
  batchAfter(): Int32Array | null {
    if (this.position + 1 < this.stepsPerEpoch) return this.batchAt(this.order, this.position + 1);
    if (this.epoch + 1 >= this.cfg.epochs) return null;
    return this.batchAt(this.orderOf(this.epoch + 1), 0);
  }

  private nextOrder: { epoch: number; order: Int32Array } | null = null;

  /** the sample order of an epoch (the next epoch's is computed once, by whoever asks first) */
  private orderOf(epoch: number): Int32Array {
    if (this.nextOrder?.epoch !== epoch)
      this.nextOrder = { epoch, order: epochOrder(this.split.train, this.cfg.seed, epoch) };
    return this.nextOrder.order;
  }

  /** Eval-mode loss and accuracy over the given samples. */
  evaluate(indices: Int32Array): EvalResult {
    let lossSum = 0;
    let correct = 0;
    const slot = this.slots[0]!;
    for (let i = 0; i < indices.length; i += slot.capacity) {
      fillSlot(slot, this.data, indices.subarray(i, Math.min(i + slot.capacity, indices.length)), 0);
      const r = evalSlot(this.model, slot);
      lossSum += r.lossSum;
      correct += r.correct;
    }
    const n = indices.length;
    return { loss: n ? lossSum / n : NaN, accuracy: n ? correct / n : NaN, samples: n };
  }

  state(): TrainerState {
    return {
      step: this.step,
      epoch: this.epoch,
      position: this.position,
      skippedSteps: this.skippedSteps,
      params: this.model.params.slice(),
      buffers: this.model.buffers.slice(),
      optimizer: optimizerState(this.optimizer),
    };
  }

  restore(s: TrainerState): void {
    if (s.params.length !== this.model.params.length || s.buffers.length !== this.model.buffers.length) {
      throw new UserError(
        'CHECKPOINT_INVALID',
        `checkpoint has ${s.params.length} parameters and ${s.buffers.length} buffers; this model has ${this.model.params.length} and ${this.model.buffers.length}`,
      );
    }
    this.model.params.set(s.params);
    this.model.buffers.set(s.buffers);
    loadOptimizerState(this.optimizer, s.optimizer);
    this.step = s.step;
    this.epoch = s.epoch;
    this.position = s.position;
    this.skippedSteps = s.skippedSteps;
    this.order = epochOrder(this.split.train, this.cfg.seed, this.epoch);
  }
}
