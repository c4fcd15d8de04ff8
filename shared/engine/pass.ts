// One training pass (forward, loss, backward) over a set of microbatches, layer by layer.
//
// Each microbatch has a Slot: its rows, its per-layer caches and its own flat gradient. Every
// layer is applied to all slots before the next layer runs, because BatchNorm needs the
// statistics of the global batch: at each BatchNorm layer the pass *yields* the partial
// values of its slots and waits for the globally reduced value (SyncBatchNorm). In one
// process the caller reduces at once; a worker sends the partials to the coordinator, which
// reduces them with those of the other workers in microbatch order and answers.
import { rowInto, type Dataset } from '../data/dataset.js';
import { alignedBlocks } from './reduce.js';
import type { Cache, PassContext } from '../nn/layer.js';
import type { Model } from '../nn/model.js';
import { Dense } from '../nn/dense.js';
import { BatchNorm, type BatchGradSums, type BatchStats } from '../nn/norms.js';

export interface Slot {
  capacity: number;
  rows: number;
  /** global microbatch index within the step */
  index: number;
  samples: Int32Array;
  x: Float32Array;
  labels: Int32Array;
  caches: Cache[];
  dlogits: Float32Array;
  /** d(loss sum)/d(params) over this microbatch's rows */
  grads: Float32Array;
  lossSum: number;
  correct: number;
}

export function newSlot(model: Model, capacity: number): Slot {
  return {
    capacity,
    rows: 0,
    index: 0,
    samples: new Int32Array(capacity),
    x: model.k.alloc(capacity * model.inF),
    labels: model.k.allocInt32(capacity),
    caches: model.layers.map((l) => l.newCache(capacity)),
    dlogits: model.k.alloc(capacity * model.classes),
    grads: model.k.alloc(model.paramCount),
    lossSum: 0,
    correct: 0,
  };
}

/** Load the given sample indices (a microbatch) into a slot. */
export function fillSlot(slot: Slot, data: Dataset, samples: ArrayLike<number>, index: number): void {
  const rows = samples.length;
  if (rows > slot.capacity) throw new Error(`microbatch of ${rows} rows exceeds slot capacity ${slot.capacity}`);
  const F = data.features;
  slot.rows = rows;
  slot.index = index;
  for (let r = 0; r < rows; r++) {
    const s = samples[r]!;
    slot.samples[r] = s;
    slot.labels[r] = data.y[s]!;
    rowInto(data, s, slot.x, r * F);
  }
}

export type SyncRequest =
  | { kind: 'bn-forward'; layer: number; partials: BatchStats[] }
  | { kind: 'bn-backward'; layer: number; partials: BatchGradSums[] };

/** the reduced value: BatchStats for bn-forward, BatchGradSums for bn-backward */
export type SyncReply = Float64Array;

export interface PassOutcome {
  /** global BN statistics of this step by layer index (for the running statistics) */
  bnStats: Map<number, BatchStats>;
}

function inputOf(slot: Slot, i: number): Float32Array {
  return i === 0 ? slot.x : slot.caches[i - 1]!.out;
}

/** The merges (left += right, by slot position) that the fixed tree over the aligned blocks
 *  of microbatches first..first+n−1 performs once the gradient at position k is complete:
 *  `treeReduce`'s binary counter, block by block (reduce.ts). The block's sum ends up at its
 *  first position. */
export function blockMerges(first: number, n: number): Array<Array<[number, number]>> {
  const after = Array.from({ length: n }, (): Array<[number, number]> => []);
  for (const b of alignedBlocks(first, first + n)) {
    const stack: Array<{ pos: number; size: number }> = [];
    for (let k = b.start - first; k < b.start - first + b.size; k++) {
      let node = { pos: k, size: 1 };
      while (stack.length > 0 && stack[stack.length - 1]!.size === node.size) {
        const left = stack.pop()!;
        after[k]!.push([left.pos, node.pos]);
        node = { pos: left.pos, size: node.size * 2 };
      }
      stack.push(node);
    }
  }
  return after;
}

/** The training pass over `slots`. Yields at each BatchNorm layer (forward and backward)
 *  and expects the reduced value back. Leaves each slot's grads, lossSum and correct set.
 *
 *  With `reduce`, the gradients are also summed over each aligned block of microbatches
 *  (the slots must hold consecutive microbatch indices), layer by layer as soon as a slot's
 *  region is complete — while it is still in cache — in exactly the order `treeReduce`
 *  would: the block's sum is left in its first slot's grads (the others' are consumed). */
export function* trainPass(
  model: Model,
  slots: Slot[],
  seed: number,
  step: number,
  reduce = false,
): Generator<SyncRequest, PassOutcome, SyncReply> {
  const layers = model.layers;
  const merges = reduce && slots.length > 0 ? blockMerges(slots[0]!.index, slots.length) : null;
  /** the tree's merges of layer `l`'s region that are due once slot position k is done */
  const mergeAfter = (l: number, k: number): void => {
    const layer = layers[l]!;
    if (!merges || layer.paramSize === 0) return;
    const from = layer.paramOffset,
      to = from + layer.paramSize;
    for (const [left, right] of merges[k]!) {
      model.k.addInto(slots[left]!.grads.subarray(from, to), slots[right]!.grads.subarray(from, to), layer.paramSize);
    }
  };
  const bnStats = new Map<number, BatchStats>();
  const ctxs: PassContext[] = slots.map((s) => ({ training: true, seed, step, samples: s.samples }));

  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    if (layer instanceof BatchNorm) {
      const partials = slots.map((s) => layer.partialStats(inputOf(s, i), s.rows));
      const stats = yield { kind: 'bn-forward', layer: i, partials };
      bnStats.set(i, stats);
      for (const s of slots) layer.applyStats(inputOf(s, i), s.rows, s.caches[i]!, stats);
    } else {
      slots.forEach((s, k) => layer.forward(inputOf(s, i), s.rows, s.caches[i]!, ctxs[k]!));
    }
  }

  const last = layers.length - 1;
  for (const s of slots) {
    const r = model.k.loss(model.loss, s.caches[last]!.out, s.labels, s.rows, model.classes, s.dlogits);
    s.lossSum = r.lossSum;
    s.correct = r.correct;
    // every parameter region but the dense layers' (whose backward writes it whole)
    for (const l of layers)
      if (!(l instanceof Dense) && l.paramSize > 0) s.grads.fill(0, l.paramOffset, l.paramOffset + l.paramSize);
  }

  for (let i = last; i >= 0; i--) {
    const layer = layers[i]!;
    const dyOf = (s: Slot): Float32Array => (i === last ? s.dlogits : s.caches[i + 1]!.dx);
    const needDx = i > 0;
    if (layer instanceof BatchNorm) {
      const partials = slots.map((s) => layer.partialGradSums(dyOf(s), s.rows, s.caches[i]!, s.grads));
      slots.forEach((_, k) => mergeAfter(i, k));
      const sums = yield { kind: 'bn-backward', layer: i, partials };
      const n = bnStats.get(i)![0]!;
      if (needDx) for (const s of slots) layer.applyGradSums(dyOf(s), s.rows, s.caches[i]!, sums, n);
    } else {
      slots.forEach((s, k) => {
        layer.backward(inputOf(s, i), dyOf(s), s.rows, s.caches[i]!, s.grads, needDx);
        mergeAfter(i, k);
      });
    }
  }
  return { bnStats };
}

/** Eval-mode forward of rows already in `slot` (BN uses running statistics, dropout its
 *  eval rule); returns the loss sum and correct count. */
export function evalSlot(model: Model, slot: Slot): { lossSum: number; correct: number } {
  const ctx: PassContext = { training: false, seed: 0, step: 0, samples: slot.samples };
  model.layers.forEach((layer, i) => {
    if (layer instanceof BatchNorm) layer.forwardEval(inputOf(slot, i), slot.rows, slot.caches[i]!);
    else layer.forward(inputOf(slot, i), slot.rows, slot.caches[i]!, ctx);
  });
  return model.k.loss(
    model.loss,
    slot.caches[model.layers.length - 1]!.out,
    slot.labels,
    slot.rows,
    model.classes,
    null,
  );
}
