// `gradwire predict`'s helper thread (first-layer-thread.mjs): the first layer of blocks of rows
// over their nonzero inputs, in an instance of its own of the kernels, while the main thread
// runs the later layers, the softmax and the output (predict.ts). The first layer is most of
// predict's arithmetic (784→256 of the default 784-256-128-10), so a second core roughly halves
// the time. A block's output is the same bits whichever thread computes it (the same kernel of
// the same module on the same inputs), so the output does not depend on how the blocks were
// shared out. predict.ts starts it only for a large input (a Node thread takes 30–70 ms to
// start here); until it is ready, when it is full, and once it fails, the main thread computes
// the blocks itself.
import { Worker } from 'node:worker_threads';
import { wasmKernelModule } from '../../shared/kernels/wasm.js';

const ENTRY = new URL('./first-layer-thread.mjs', import.meta.url);

/** Blocks at the thread at once: the one it computes and the next, so that it never waits for
 *  the main thread between blocks */
export const THREAD_IN_FLIGHT = 2;

/** Slots of the shared buffers the blocks travel in: a block keeps its slot from run() until
 *  release() (predict.ts finishes blocks in input order, so a done block may wait for one
 *  before it) */
export const THREAD_SLOTS = 4;

export interface FirstLayerWeights {
  n: number;
  m: number;
  /** the most rows of a block */
  maxRows: number;
  /** W in column panels (shared/kernels/panels.ts), the bias, pixel byte → input */
  Wp: Float32Array;
  b: Float32Array;
  table: Float32Array;
  /** int32 values of the kernel's scratch (panels.ts's sparseScratch(n)) */
  scratch: number;
}

type Reply = { id: number; error?: string } | 'started';

/** A block at the thread: its slot's input (kept to compute it here should the thread fail) */
export interface ThreadBlock {
  slot: number;
  rows: number;
  input: Uint8Array | Float32Array;
  /** the slot's output (rows × m) once done */
  done: Promise<Float32Array>;
}

export class FirstLayerThread {
  private readonly worker: Worker;
  private started = false;
  /** why the thread can no longer be used, once it cannot */
  private failure: string | null = null;
  private nextId = 0;
  private readonly whenStarted: Promise<void>;
  private onStarted: () => void = () => {};
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  /** the shared slots (made by load) and the free ones */
  private slots: { input: SharedArrayBuffer; output: SharedArrayBuffer; n: number; m: number; maxRows: number } | null =
    null;
  private readonly free: number[] = [];

  /** a thread on the kernels' module, or null where the kernels are not WebAssembly */
  static start(): FirstLayerThread | null {
    const module = wasmKernelModule();
    return module ? new FirstLayerThread(module) : null;
  }

  private constructor(module: WebAssembly.Module) {
    this.whenStarted = new Promise((resolve) => {
      this.onStarted = resolve;
    });
    // no --import of the main thread's (tsx): the thread's one module is plain JavaScript
    this.worker = new Worker(ENTRY, { workerData: { module }, execArgv: [] });
    this.worker.on('message', (msg: Reply) => {
      if (msg === 'started') {
        this.started = true;
        this.onStarted();
        return;
      }
      const w = this.waiting.get(msg.id);
      if (!msg.error && w) {
        this.waiting.delete(msg.id);
        if (this.waiting.size === 0) this.worker.unref();
        w.resolve();
      } else {
        // a block (or the weights: id -1) it could not compute: no more blocks go to it
        this.fail(`predict's helper thread: ${msg.error ?? 'an answer to no block'}`);
      }
    });
    this.worker.on('error', (e) => this.fail(`predict's helper thread failed: ${e.message}`));
    this.worker.on('exit', (code) => this.fail(`predict's helper thread exited (code ${code})`));
    // it keeps the process alive only while a block is at it
    this.worker.unref();
  }

  /** resolves once the thread has started (or failed): for tests that want it to take blocks
   *  from the first one on */
  ready(): Promise<void> {
    return this.whenStarted;
  }

  /** the layer the thread computes from now on */
  load(w: FirstLayerWeights): void {
    if (this.failure) return;
    const input = new SharedArrayBuffer(THREAD_SLOTS * w.maxRows * w.n * 4);
    const output = new SharedArrayBuffer(THREAD_SLOTS * w.maxRows * w.m * 4);
    this.slots = { input, output, n: w.n, m: w.m, maxRows: w.maxRows };
    this.free.splice(0, this.free.length, ...Array.from({ length: THREAD_SLOTS }, (_, i) => THREAD_SLOTS - 1 - i));
    // copies of the arrays alone, handed over (a view would be cloned with its whole buffer,
    // the kernels' memory)
    const [Wp, b, table] = [w.Wp.slice(), w.b.slice(), w.table.slice()];
    this.worker.postMessage({ weights: { ...w, Wp, b, table }, input, output }, [Wp.buffer, b.buffer, table.buffer]);
  }

  /** whether a block may go to the thread now: started, given its layer, working, a slot free, not full */
  get available(): boolean {
    return (
      this.started &&
      this.slots !== null &&
      !this.failure &&
      this.free.length > 0 &&
      this.waiting.size < THREAD_IN_FLIGHT
    );
  }

  /** why it stopped, or null while it works */
  get failed(): string | null {
    return this.failure;
  }

  /** A block of rows × n inputs, pixel bytes or floats, to the thread (when available): copied
   *  into a free slot. Give the slot back with release() once its output has been read. */
  run(rows: number, x: Uint8Array | Float32Array): ThreadBlock {
    const sl = this.slots!;
    const slot = this.free.pop()!;
    const inBytes = sl.maxRows * sl.n * 4;
    const input =
      x instanceof Uint8Array
        ? new Uint8Array(sl.input, slot * inBytes, rows * sl.n)
        : new Float32Array(sl.input, slot * inBytes, rows * sl.n);
    input.set(x);
    const output = new Float32Array(sl.output, slot * sl.maxRows * sl.m * 4, rows * sl.m);
    const id = this.nextId++;
    const done = new Promise<Float32Array>((resolve, reject) => {
      if (this.failure) {
        reject(new Error(this.failure));
        return;
      }
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve: () => resolve(output), reject });
      this.worker.postMessage({ id, slot, rows, bytes: x instanceof Uint8Array });
    });
    return { slot, rows, input, done };
  }

  /** the slot of a block whose output was read (or computed here) is free again */
  release(b: ThreadBlock): void {
    this.free.push(b.slot);
  }

  private fail(why: string): void {
    if (this.failure) return;
    this.failure = why;
    this.onStarted();
    for (const w of this.waiting.values()) w.reject(new Error(why));
    this.waiting.clear();
    this.worker.unref();
  }

  async close(): Promise<void> {
    this.fail("predict's helper thread was closed");
    await this.worker.terminate();
  }
}
