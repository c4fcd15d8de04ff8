// A step computed by several shards (workers), each owning a contiguous run of microbatches,
// with every reduction done in microbatch order. This is the distributed data flow without
// the sockets: the coordinator collects each BatchNorm sync's partial values from all
// shards, orders them by microbatch index, reduces them in the fixed tree and answers every
// shard; each shard pre-reduces the aligned blocks of gradients it owns whole. The result is
// bit-identical to `runPassLocally` over all microbatches (invariant I1).
import type { Model } from '../nn/model.js';
import { trainPass, type PassOutcome, type Slot, type SyncRequest } from './pass.js';
import { addInto, alignedBlocks, treeReduce, type Block } from './reduce.js';
import { reduceSync } from './trainer.js';

/** Gradient blocks of one shard: the maximal aligned blocks of its microbatch run, each
 *  pre-reduced in the fixed tree. `slots` must be consecutive microbatch indices. */
export function shardGradientBlocks(slots: Slot[]): Array<Block<Float32Array>> {
  if (slots.length === 0) return [];
  const first = slots[0]!.index;
  return alignedBlocks(first, first + slots.length).map(({ start, size }) => ({
    start,
    size,
    value: treeReduce(slots.slice(start - first, start - first + size).map((s) => s.grads.slice()), addInto),
  }));
}

/** Reduce all shards' gradient blocks, in microbatch order, into the batch gradient sum. */
export function reduceGradientBlocks(blocks: Array<Block<Float32Array>>): Float32Array {
  const ordered = [...blocks].sort((a, b) => a.start - b.start);
  return treeReduce(ordered.map((b) => ({ ...b, value: b.value.slice() })), addInto, true);
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
