// A helper thread of `gradwire predict` (first-layer-thread.ts starts it): the model's first
// layer over the nonzero inputs of blocks of rows, with the kernels' own denseForwardSparse /
// denseForwardSparseBytes in an instance of its own of the same kernels.wasm module (so the
// same bits as the main thread's call), while the main thread runs the other layers, the
// softmax and the output of earlier blocks. Plain JavaScript that imports only Node's
// worker_threads: it starts alike whether gradwire runs from its TypeScript sources (tsx, which
// Node 20 does not hand on to worker threads: a thread loading them would start far slower) or
// compiled.
//
// The blocks travel through slots of two SharedArrayBuffers made once (first-layer-thread.ts),
// not in the messages: a fresh array per block would be fresh memory pages, and the first touch
// of a page costs ~16 µs on these machines (more than the copy).
//
// workerData: { module: WebAssembly.Module }. Messages in:
//   { weights: { n, m, maxRows, Wp, b, table, scratch }, input: SharedArrayBuffer, output: SharedArrayBuffer }
//   { id, slot, rows, bytes: boolean }  slot's input: rows × n pixels (x = table[byte]) or floats
// Messages out: 'started'; { id } (the slot's output holds the layer's rows × m values);
// { id, error } when a block (id -1: the weights) could not be computed.
import { parentPort, workerData } from 'node:worker_threads';

const PAGE = 65536;
const align16 = (x) => Math.ceil(x / 16) * 16;

let k = null;

function abortCall() {
  throw new Error('wasm-simd kernels: abort');
}

function load({ weights, input, output }) {
  const { n, m, maxRows, Wp, b, table, scratch } = weights;
  const sizes = {
    Wp: Wp.byteLength,
    b: b.byteLength,
    table: table.byteLength,
    idx: scratch * 4,
    x: maxRows * n * 4,
    y: maxRows * m * 4,
  };
  let need = 0;
  for (const s of Object.values(sizes)) need += align16(s);
  // the module's own data lies below its heapBase (a few KiB): 1 MiB of room for it
  const pages = Math.ceil((need + 1048576) / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const wasm = new WebAssembly.Instance(workerData.module, { env: { memory, abort: abortCall } }).exports;
  let next = align16(wasm.heapBase());
  const at = {};
  for (const [name, size] of Object.entries(sizes)) {
    at[name] = next;
    next = align16(next + size);
  }
  if (next > pages * PAGE) throw new Error(`the kernels' data (${wasm.heapBase()} bytes) leaves too little memory`);
  const heap = new Uint8Array(memory.buffer);
  heap.set(new Uint8Array(Wp.buffer, Wp.byteOffset, Wp.byteLength), at.Wp);
  heap.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), at.b);
  heap.set(new Uint8Array(table.buffer, table.byteOffset, table.byteLength), at.table);
  k = { wasm, heap, at, n, m, maxRows, input: new Uint8Array(input), output: new Uint8Array(output) };
}

function block({ slot, rows, bytes }) {
  const { wasm, heap, at, n, m, maxRows, input, output } = k;
  if (!(rows >= 1 && rows <= maxRows)) throw new Error(`a block of ${rows} rows (at most ${maxRows})`);
  const inBytes = maxRows * n * 4;
  const outBytes = maxRows * m * 4;
  if (!(slot >= 0 && (slot + 1) * inBytes <= input.length)) throw new Error(`no slot ${slot}`);
  const x = input.subarray(slot * inBytes, slot * inBytes + rows * n * (bytes ? 1 : 4));
  heap.set(x, at.x);
  if (bytes) wasm.denseForwardSparseBytes(at.x, at.table, at.Wp, at.b, at.y, at.idx, rows, n, m);
  else wasm.denseForwardSparse(at.x, at.Wp, at.b, at.y, at.idx, rows, n, m);
  output.set(heap.subarray(at.y, at.y + rows * m * 4), slot * outBytes);
}

parentPort.on('message', (msg) => {
  if (msg.weights) {
    try {
      load(msg);
    } catch (e) {
      parentPort.postMessage({ id: -1, error: String(e?.message ?? e) });
    }
    return;
  }
  try {
    block(msg);
    parentPort.postMessage({ id: msg.id });
  } catch (e) {
    parentPort.postMessage({ id: msg.id, error: String(e?.message ?? e) });
  }
});
parentPort.postMessage('started');
