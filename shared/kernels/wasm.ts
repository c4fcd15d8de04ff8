// The `wasm-simd` kernel variant: the AssemblyScript module of shared/kernels/assembly, built
// by `npm run build:wasm` into shared/kernels/build/kernels.wasm (never committed), over one
// WebAssembly memory per Kernels instance. This file imports no Node module: the module's bytes
// and their sha256 come from the loader the process installs with setWasmKernelsFile (Node
// processes: shared/node/kernels-wasm.ts, which reads the file); they are compiled once per
// process, when the first instance is made. The module's ABI is in wasm-abi.ts, the typed
// calls in wasm-calls.ts.
//
// Memory: each instance imports its own WebAssembly.Memory, sized once (initial = maximum) and
// never grown, so the typed-array views alloc() hands out stay valid for the instance's life.
// Untouched pages cost address space only, not resident memory. Default 1 GiB, or
// GRADWIRE_KERNEL_MEMORY_MB. A bump allocator (16-byte aligned, never frees) hands out views
// above the module's static data. Every kernel call checks that its arrays are views of this
// instance's memory, long enough for the call, and passes their byte offsets.
import { envVar } from '../env.js';
import type { Kernels } from './kernels.js';
import { SIMD_PROBE } from './simd-probe.js';
import type { Exports } from './wasm-abi.js';
import { type View, wasmCalls } from './wasm-calls.js';

const PAGE = 65536;
const DEFAULT_MEMORY_MB = 1024;
/** wasm32 memories hold at most 4 GiB */
const MAX_MEMORY_MB = 4096;
const MEMORY_ENV = 'GRADWIRE_KERNEL_MEMORY_MB';

/** The module file as the process's loader gives it. */
export interface WasmKernelsFile {
  bytes: Uint8Array<ArrayBuffer>;
  /** sha256 (64 hex digits) of bytes */
  sha256: string;
  /** where it was read from, for error messages */
  name: string;
}

/** reads the module file; throws when it is missing */
let loader: (() => WasmKernelsFile) | undefined;

/** undefined: not tried yet; null: this engine cannot run WebAssembly SIMD */
let cachedModule: WebAssembly.Module | null | undefined;
/** sha256 (hex) of the module's bytes, set when they are read */
let cachedSha256: string | undefined;

/** Does this engine run WebAssembly SIMD (the wasm-simd kernels need it)? */
export function hasWasmSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

/** Install the loader of the module file (called once per process by its platform edge, before
 *  any wasm-simd instance is made; it runs when the first one is). */
export function setWasmKernelsFile(load: () => WasmKernelsFile): void {
  loader = load;
  cachedModule = undefined;
  cachedSha256 = undefined;
}

function loadModule(): WebAssembly.Module | null {
  if (cachedModule !== undefined) return cachedModule;
  if (!loader) {
    throw new Error(
      'wasm-simd kernels: this process installed no loader of kernels.wasm (a Node process imports ' +
        'shared/node/kernels-wasm.ts)',
    );
  }
  const { bytes, sha256, name } = loader();
  cachedSha256 = sha256;
  if (WebAssembly.validate(bytes)) {
    cachedModule = new WebAssembly.Module(bytes);
  } else if (WebAssembly.validate(SIMD_PROBE)) {
    // the engine has SIMD, so the file itself is bad (truncated, or from another build)
    throw new Error(`wasm-simd kernels: ${name} is not a valid module; rebuild it with \`npm run build:wasm\``);
  } else {
    cachedModule = null;
  }
  return cachedModule;
}

/** The compiled kernels.wasm module (null where WebAssembly SIMD is unavailable), for a thread
 *  that makes an instance of its own (coordinator/model/first-layer-thread.mjs). */
export function wasmKernelModule(): WebAssembly.Module | null {
  return loadModule();
}

/** The kernel build: sha256 (64 hex digits) of the bytes of kernels.wasm this process compiles.
 *  The wasm-simd kernels' results are a function of these bytes alone (WebAssembly arithmetic is
 *  specified bit for bit, and the module brings its own elementary functions: it imports nothing
 *  but its memory), so two processes with the same hash compute the same bits whatever their
 *  Node.js/V8 version or CPU. Throws when the module has not been built. */
export function wasmKernelSha256(): string {
  loadModule();
  return cachedSha256!;
}
function memoryMegabytes(): number {
  const raw = envVar(MEMORY_ENV);
  if (raw === undefined || raw.trim() === '') return DEFAULT_MEMORY_MB;
  const mb = Number(raw);
  if (!Number.isInteger(mb) || mb < 1 || mb > MAX_MEMORY_MB) {
    throw new Error(
      `${MEMORY_ENV}=${JSON.stringify(raw)}: must be an integer number of MiB from 1 to ${MAX_MEMORY_MB}`,
    );
  }
  return mb;
}

/** up to a multiple of 16 (offsets may pass 2^31: no 32-bit bit operations) */
function align16(x: number): number {
  return Math.ceil(x / 16) * 16;
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(bytes < 1048576 ? 3 : 1)} MiB`;
}

/** The wasm-simd variant, with its own memory; null where WebAssembly SIMD is unavailable (use
 *  the js variant then). Throws when the module has not been built. */
export function createWasmKernels(): Kernels | null {
  const module = loadModule();
  if (!module) return null;
  const limitMb = memoryMegabytes();
  const pages = limitMb * (1048576 / PAGE);
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  } catch (e) {
    throw new Error(
      `wasm-simd kernels: cannot reserve a ${limitMb} MiB WebAssembly memory (${(e as Error).message}); set ${MEMORY_ENV} lower`,
    );
  }
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort(): never {
        throw new Error('wasm-simd kernels: abort');
      },
    },
  });
  const wasm = instance.exports as unknown as Exports;
  const buffer = memory.buffer;
  const limit = buffer.byteLength;
  let next = align16(wasm.heapBase());

  function reserve(n: number, what: string, size = 4): number {
    if (!Number.isInteger(n) || n < 0) throw new Error(`wasm-simd ${what}(${n}): the count must be an integer ≥ 0`);
    const offset = next;
    const bytes = n * size;
    if (offset + bytes > limit) {
      throw new Error(
        `wasm-simd kernels: out of memory: ${what}(${n}) asks for ${mib(bytes)} with ${mib(limit - offset)} of ` +
          `the ${limitMb} MiB limit left; raise it with ${MEMORY_ENV} (at most ${MAX_MEMORY_MB})`,
      );
    }
    next = align16(offset + bytes);
    return offset;
  }

  // Arrays made by alloc()/allocInt32()/allocF64() carry their byte offset under this instance's own
  // symbol: reading it is a plain property load, where `.buffer` and `.byteOffset` of a view of
  // a WebAssembly memory cost ~15 ns each in V8 (most of a small call's time). Other views
  // (subarrays, foreign arrays) take the checked slow path once: a view found to be in this
  // memory is tagged then too.
  const tag = Symbol('wasm-simd byte offset');
  type Tagged = View & { [tag]?: number };

  function tagged<T extends View>(a: T): T {
    (a as Tagged)[tag] = a.byteOffset;
    return a;
  }

  /** byte offset of `a`, after checking that it is a view of this memory with at least `need` values */
  function ptr(a: View, need: number, arg: string, fn: string): number {
    const offset = (a as Tagged)[tag];
    if (offset !== undefined && a.length >= need) return offset;
    return checkedPtr(a, need, arg, fn);
  }

  function checkedPtr(a: View, need: number, arg: string, fn: string): number {
    if (a.buffer !== buffer) {
      throw new Error(
        `wasm-simd ${fn}: ${arg} is not a view of this Kernels instance's memory (allocate it with alloc())`,
      );
    }
    if (a.length < need) throw new Error(`wasm-simd ${fn}: ${arg} has ${a.length} values, the call needs ${need}`);
    // a view of this memory (a subarray, say): remember its offset for its next calls
    (a as Tagged)[tag] = a.byteOffset;
    return a.byteOffset;
  }

  return {
    variant: 'wasm-simd',

    alloc(n: number): Float32Array {
      return tagged(new Float32Array(buffer, reserve(n, 'alloc'), n));
    },

    allocInt32(n: number): Int32Array {
      return tagged(new Int32Array(buffer, reserve(n, 'allocInt32'), n));
    },

    allocF64(n: number): Float64Array {
      return tagged(new Float64Array(buffer, reserve(n, 'allocF64', 8), n));
    },

    allocBytes(n: number): Uint8Array {
      return tagged(new Uint8Array(buffer, reserve(n, 'allocBytes', 1), n));
    },

    owns(a) {
      return a.buffer === buffer;
    },

    ...wasmCalls(wasm, ptr),
  };
}
