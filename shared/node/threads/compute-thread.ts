// One compute thread of a thread team (team.ts): builds the model with its own kernels, reads
// samples from the shared dataset and the weights from the shared buffer, and runs the shared
// training pass over the contiguous run of microbatches it is given — the same code a worker
// process runs, so a microbatch's gradient is the same bits whichever thread computes it. At
// each BatchNorm layer it posts its partial values and waits for the reduced value; at the end
// it posts the maximal aligned blocks of its run, each pre-reduced in the fixed tree. A thread
// kept for a later team (a worker's next sweep trial) is given that team's job with `load`.
import { parentPort, workerData } from 'node:worker_threads';
import '../kernels-wasm.js';
import type { Dataset } from '../../data/dataset.js';
import { fillSlot, newSlot, trainPass, type PassOutcome, type Slot, type SyncReply } from '../../engine/pass.js';
import type { SyncRequest } from '../../engine/pass.js';
import { resultBlocks } from '../../engine/sharded.js';
import { runPassLocally } from '../../engine/trainer.js';
import { createKernels } from '../../kernels/index.js';
import { Model } from '../../nn/model.js';
import type { FromThread, ThreadInit, ToThread } from './messages.js';

let init = workerData as ThreadInit;
const port = parentPort!;
let data: Dataset = { ...init.data };
let model = Model.fromConfig(init.model, data.features, data.classes, createKernels(init.variant));
let slots: Slot[] = [];
let version = -1;
let current: { pass: number; step: number; gen: Generator<SyncRequest, PassOutcome, SyncReply>; t0: number } | null =
  null;

function post(msg: FromThread, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

/** A few throwaway passes over two microbatches, so the JIT and the WebAssembly tier-up happen
 *  now rather than inside the first steps. Changes no weight (it only reads them). */
function warmUp(ms: number): void {
  const rows = Math.min(init.microbatch, data.n);
  const warm = [newSlot(model, init.microbatch), newSlot(model, init.microbatch)];
  const t0 = performance.now();
  for (let pass = 0; pass < 20 && (pass < 3 || performance.now() - t0 < ms); pass++) {
    warm.forEach((s, i) =>
      fillSlot(
        s,
        data,
        Int32Array.from({ length: rows }, (_, r) => (i * rows + r) % data.n),
        i,
      ),
    );
    runPassLocally(model, warm, init.seed, 0, true);
    resultBlocks(warm, model.k, true);
  }
  slots.push(...warm);
}

function injectFault(step: number): void {
  const f = init.fault;
  if (!f || f.thread !== init.index || f.step !== step) return;
  if (f.kind === 'exit') process.exit(70);
  throw new Error(`injected fault in thread ${init.index} at step ${step}`);
}

function advance(r: IteratorResult<SyncRequest, PassOutcome>): void {
  const p = current!;
  if (!r.done) {
    // copied out: a partial may be a view of the kernels' memory, which posting would clone whole
    const partials = r.value.partials.map((q) => q.slice());
    post(
      { type: 'sync', pass: p.pass, kind: r.value.kind, layer: r.value.layer, partials },
      partials.map((q) => q.buffer as ArrayBuffer),
    );
    return;
  }
  current = null;
  const count = slotsInUse;
  const blocks = resultBlocks(slots.slice(0, count), model.k, true).map((b) => ({ ...b, grads: b.grads.slice() }));
  post(
    { type: 'done', pass: p.pass, blocks, computeMs: performance.now() - p.t0 },
    blocks.map((b) => b.grads.buffer as ArrayBuffer),
  );
}

let slotsInUse = 0;

/** Take a job: its dataset, model, weights buffer; then warm up and say ready. */
function load(next: ThreadInit): void {
  init = next;
  data = { ...init.data };
  model = Model.fromConfig(init.model, data.features, data.classes, createKernels(init.variant));
  slots = [];
  slotsInUse = 0;
  version = -1;
  current = null;
  // the thread's JIT and WebAssembly tiers are warm already: three passes for the new model's
  // sizes, not the first start's 150 ms
  warmUp(0);
  post({ type: 'ready', index: init.index, paramCount: model.paramCount });
}

function onMessage(msg: ToThread): void {
  if (msg.type === 'load') return load(msg.init);
  if (msg.type === 'step') {
    if (msg.version !== version) {
      model.params.set(init.params);
      version = msg.version;
    }
    const size = msg.microbatch;
    const count = Math.ceil(msg.samples.length / size);
    while (slots.length < count) slots.push(newSlot(model, size));
    for (let k = 0; k < count; k++) {
      fillSlot(
        slots[k]!,
        data,
        msg.samples.subarray(k * size, Math.min((k + 1) * size, msg.samples.length)),
        msg.first + k,
      );
    }
    slotsInUse = count;
    const t0 = performance.now();
    injectFault(msg.step);
    current = {
      pass: msg.pass,
      step: msg.step,
      gen: trainPass(model, slots.slice(0, count), msg.seed, msg.step, true),
      t0,
    };
    advance(current.gen.next());
    return;
  }
  // a BatchNorm round's reduced value, for the pass in progress (an abandoned pass's is dropped)
  if (!current || current.pass !== msg.pass) return;
  advance(current.gen.next(msg.value));
}

port.on('message', (msg: ToThread) => {
  try {
    onMessage(msg);
  } catch (e) {
    current = null;
    if (msg.type === 'load') throw e; // the team sees the thread fail while starting
    post({ type: 'failed', pass: msg.pass, message: (e as Error).message });
  }
});

warmUp(150);
post({ type: 'ready', index: init.index, paramCount: model.paramCount });
