// One training pass (forward, loss, backward) over a set of microbatches, layer by layer.
//
// Each microbatch has a Slot: its rows, its per-layer caches and its own flat gradient. Every
// layer is applied to all slots before the next layer runs, because BatchNorm needs the
// statistics of the global batch: at each BatchNorm layer the pass *yields* the partial
// values of its slots and waits for the globally reduced value (SyncBatchNorm). In one
// process the caller reduces at once; a worker sends the partials to the coordinator, which
// reduces them with those of the other workers in microbatch order and answers.
import { rowInto, type Dataset } from '../data/dataset.js';
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

/** The training pass over `slots`. Yields at each BatchNorm layer (forward and backward)
 *  and expects the reduced value back. Leaves each slot's grads, lossSum and correct set. */
export function* trainPass(
  model: Model, slots: Slot[], seed: number, step: number,
): Generator<SyncRequest, PassOutcome, SyncReply> {
  const layers = model.layers;
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
    for (const l of layers) if (!(l instanceof Dense) && l.paramSize > 0) s.grads.fill(0, l.paramOffset, l.paramOffset + l.paramSize);
  }

  for (let i = last; i >= 0; i--) {
    const layer = layers[i]!;
    const dyOf = (s: Slot): Float32Array => (i === last ? s.dlogits : s.caches[i + 1]!.dx);
    const needDx = i > 0;
    if (layer instanceof BatchNorm) {
      const partials = slots.map((s) => layer.partialGradSums(dyOf(s), s.rows, s.caches[i]!, s.grads));
      const sums = yield { kind: 'bn-backward', layer: i, partials };
      const n = bnStats.get(i)![0]!;
      if (needDx) for (const s of slots) layer.applyGradSums(dyOf(s), s.rows, s.caches[i]!, sums, n);
    } else {
      for (const s of slots) layer.backward(inputOf(s, i), dyOf(s), s.rows, s.caches[i]!, s.grads, needDx);
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
  return model.k.loss(model.loss, slot.caches[model.layers.length - 1]!.out, slot.labels, slot.rows, model.classes, null);
}
