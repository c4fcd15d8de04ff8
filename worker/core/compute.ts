// How a worker computes its share of a step, behind one interface: in this thread (threads = 1:
// the shared training pass over the job's model and slots, no extra thread and no extra copy
// of anything, InProcessCompute here) or on a thread team its platform starts (threads ≥ 2: the
// Node worker's shared/node/threads/team.ts, one shared copy of the dataset and of the weights). Either way a pass yields each BatchNorm round's partial
// values over the whole run in microbatch order and returns the run's maximal aligned,
// pre-reduced gradient blocks — the same bits, so the same bytes on the wire.
import type { RunConfig } from '../../shared/config-types.js';
import type { Dataset } from '../../shared/data/dataset.js';
import { fillSlot, newSlot, trainPass, type Slot, type SyncReply, type SyncRequest } from '../../shared/engine/pass.js';
import { resultBlocks, type ResultBlock } from '../../shared/engine/sharded.js';
import { runPassLocally } from '../../shared/engine/trainer.js';
import { createKernels } from '../../shared/kernels/index.js';
import { Model } from '../../shared/nn/model.js';
import { BatchNorm } from '../../shared/nn/norms.js';

export { ThreadLostError } from '../../shared/engine/team-split.js';

/** One step's run of microbatches, as the coordinator assigned it. */
export interface PassInput {
  step: number;
  samples: Int32Array;
  microbatch: number;
  firstMicrobatch: number;
}

export interface Compute {
  /** compute threads (1: this thread) */
  readonly threads: number;
  /** parameters of the model */
  readonly paramCount: number;
  /** the model has BatchNorm: a pass has sync rounds, and a new attempt of a step replaces
   *  the pass in progress (the coordinator restarted the step) */
  readonly batchNorm: boolean;
  /** a line for the log: the model */
  describe(): string;
  /** the weights of the next passes */
  setParams(params: Float32Array): void;
  /** Run a training pass: yields each BatchNorm round's partials (the run's microbatches in
   *  order), expects the reduced value back, returns the run's aligned blocks (buffers owned by
   *  the caller). A thread team throws ThreadLostError when one of its threads was lost. */
  pass(p: PassInput): AsyncGenerator<SyncRequest, ResultBlock[], SyncReply>;
  close(): Promise<void>;
}

/** Run a few throwaway passes over two microbatches before the first step, so the JIT and the
 *  WebAssembly tier-up happen at job load instead of inside training steps. Uses the first rows
 *  of the dataset and changes no weight; the two slots are kept for the steps. */
export function warmUp(model: Model, data: Dataset, microbatch: number, seed: number): Slot[] {
  const slots = [newSlot(model, microbatch), newSlot(model, microbatch)];
  const rows = Math.min(microbatch, data.n);
  const t0 = performance.now();
  for (let pass = 0; pass < 20 && (pass < 3 || performance.now() - t0 < 150); pass++) {
    slots.forEach((s, i) =>
      fillSlot(
        s,
        data,
        Int32Array.from({ length: rows }, (_, r) => (i * rows + r) % data.n),
        i,
      ),
    );
    runPassLocally(model, slots, seed, 0, true);
    resultBlocks(slots, model.k, true);
  }
  return slots;
}

export function hasBatchNorm(model: Model): boolean {
  return model.layers.some((l) => l instanceof BatchNorm);
}

/** threads = 1: the pass runs in this thread, over the job's model and slots. */
export class InProcessCompute implements Compute {
  readonly threads = 1;
  private readonly model: Model;
  private readonly slots: Slot[];

  /** `copyResults` false: a pass returns views of its slots' gradients, valid until the next pass
   *  begins (for a caller that copies them before: a socket whose send copies; a fresh megabyte
   *  array per step cost a browser ~3 ms of page faults) */
  constructor(
    private readonly config: RunConfig,
    private readonly data: Dataset,
    private readonly copyResults = true,
  ) {
    this.model = Model.fromConfig(config.model, data.features, data.classes, createKernels());
    this.slots = warmUp(this.model, data, Math.min(config.microbatch, config.batchSize), config.seed);
  }

  get paramCount(): number {
    return this.model.params.length;
  }

  get batchNorm(): boolean {
    return hasBatchNorm(this.model);
  }

  describe(): string {
    return this.model.describe();
  }

  setParams(params: Float32Array): void {
    this.model.params.set(params);
  }

  async *pass(p: PassInput): AsyncGenerator<SyncRequest, ResultBlock[], SyncReply> {
    const size = p.microbatch;
    const count = Math.ceil(p.samples.length / size);
    while (this.slots.length < count) this.slots.push(newSlot(this.model, size));
    const slots = this.slots.slice(0, count);
    for (let k = 0; k < count; k++) {
      fillSlot(
        slots[k]!,
        this.data,
        p.samples.subarray(k * size, Math.min((k + 1) * size, p.samples.length)),
        p.firstMicrobatch + k,
      );
    }
    const gen = trainPass(this.model, slots, this.config.seed, p.step, true);
    let r = gen.next();
    while (!r.done) r = gen.next(yield r.value);
    const blocks = resultBlocks(slots, this.model.k, true);
    // copied out of the slots (the next pass refills them while a write may still be queued),
    // unless the caller copies them before the next pass
    return this.copyResults ? blocks.map((b) => ({ ...b, grads: b.grads.slice() })) : blocks;
  }

  async close(): Promise<void> {}
}
