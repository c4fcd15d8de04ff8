// A step computed by several shards (workers), each owning a contiguous run of microbatches,
// with every reduction done in microbatch order. This is the distributed data flow without
// the sockets: the coordinator collects each BatchNorm sync's partial values from all
// shards, orders them by microbatch index, reduces them in the fixed tree and answers every
// shard; each shard pre-reduces the aligned blocks of gradients it owns whole. The result is
// bit-identical to `runPassLocally` over all microbatches (invariant I1).
import type { Model } from '../nn/model.js';
import { trainPass, type PassOutcome, type Slot, type SyncRequest } from './pass.js';
import type { Kernels } from '../kernels/kernels.js';
import { addInto, addIntoWith, alignedBlocks, treeReduce, type Block } from './reduce.js';
import { reduceSync } from './trainer.js';

/** What a shard sends for one aligned block of microbatches: the gradient sum, loss sum
 *  and correct count of the block, each reduced in the fixed tree. */
export interface ResultBlock {
  start: number;
  size: number;
  grads: Float32Array;
  lossSum: number;
  correct: number;
}

/** The maximal aligned blocks of a shard's microbatch run, each pre-reduced. `slots` must
 *  hold consecutive microbatch indices. The reduction runs in place in the slots' gradient
 *  buffers (no copy per microbatch on the hot path): their grads are consumed. `reduced`: the
 *  pass already summed each block's gradients into its first slot (trainPass with reduce). */
export function resultBlocks(slots: Slot[], k: Kernels, reduced = false): ResultBlock[] {
  if (slots.length === 0) return [];
  const add = addIntoWith(k);
  const first = slots[0]!.index;
  return alignedBlocks(first, first + slots.length).map(({ start, size }) => {
    const mine = slots.slice(start - first, start - first + size);
    return {
      start,
      size,
      grads: reduced
        ? mine[0]!.grads
        : treeReduce(
            mine.map((s) => s.grads),
            add,
          ),
      lossSum: treeReduce(
        mine.map((s) => s.lossSum),
        (a, b) => a + b,
      ),
      correct: mine.reduce((a, s) => a + s.correct, 0),
    };
  });
}

/** Gradient blocks of one shard (see resultBlocks). */
export function shardGradientBlocks(slots: Slot[], k: Kernels): Array<Block<Float32Array>> {
  return resultBlocks(slots, k).map((b) => ({ start: b.start, size: b.size, value: b.grads }));
}

/** Reduce all shards' gradient blocks, in microbatch order, into the batch gradient sum. */
export function reduceGradientBlocks(blocks: Array<Block<Float32Array>>): Float32Array {
  const ordered = [...blocks].sort((a, b) => a.start - b.start);
  return treeReduce(
    ordered.map((b) => ({ ...b, value: b.value.slice() })),
    addInto,
    true,
  );
}

/** Merge the requests of one sync round from every shard into one request over all
 *  microbatches, ordered by microbatch index. */
export function mergeSyncRound(requests: Array<{ request: SyncRequest; slots: Slot[] }>): SyncRequest {
  const { kind, layer } = requests[0]!.request;
  const tagged: Array<{ index: number; partial: Float64Array }> = [];
  for (const { request, slots } of requests) {
    if (request.kind !== kind || request.layer !== layer) {
      throw new Error(`shards out of step: ${kind}@${layer} vs ${request.kind}@${request.layer}`);
    }
    request.partials.forEach((partial, k) => tagged.push({ index: slots[k]!.index, partial }));
  }
  tagged.sort((a, b) => a.index - b.index);
  return { kind, layer, partials: tagged.map((t) => t.partial) } as SyncRequest;
}

export function runPassSharded(model: Model, shards: Slot[][], seed: number, step: number): PassOutcome {
  const live = shards.filter((s) => s.length > 0);
  const passes = live.map((slots) => trainPass(model, slots, seed, step));
  let results = passes.map((p) => p.next());
  while (!results[0]!.done) {
    const round = results.map((r, i) => {
      if (r.done) throw new Error('shards out of step: one finished early');
      return { request: r.value, slots: live[i]! };
    });
    const reply = reduceSync(mergeSyncRound(round));
    results = passes.map((p) => p.next(reply));
  }
  return results[0]!.value as PassOutcome;
}
