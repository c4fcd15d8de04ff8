// The `wasm-simd` kernel variant: the AssemblyScript module of shared/kernels/assembly, built
// by `npm run build:wasm` into shared/kernels/build/kernels.wasm (never committed), over one
// WebAssembly memory per Kernels instance. Node.js only: the module is read from disk (next to
// this file, or for the compiled dist/ copy, from the package's shared/kernels/build), compiled
// once per process.
//
// Memory: each instance imports its own WebAssembly.Memory, sized once (initial = maximum) and
// never grown, so the typed-array views alloc() hands out stay valid for the instance's life.
// Untouched pages cost address space only, not resident memory. Default 1 GiB, or
// GRADWIRE_KERNEL_MEMORY_MB. A bump allocator (16-byte aligned, never frees) hands out views
// above the module's static data. Every kernel call checks that its arrays are views of this
// instance's memory, long enough for the call, and passes their byte offsets.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { ActivationName, LossName } from '../config-types.js';
import type { Kernels, LossResult, UpdateRule, UpdateScalars } from './kernels.js';

const WASM_CANDIDATES = [
  // next to this file (the TypeScript sources, run through tsx)
  new URL('./build/kernels.wasm', import.meta.url),
  // from the compiled copy in dist/shared/kernels/: the package's own shared/kernels/build
  new URL('../../../shared/kernels/build/kernels.wasm', import.meta.url),
];

const PAGE = 65536;
const DEFAULT_MEMORY_MB = 1024;
/** wasm32 memories hold at most 4 GiB */
const MAX_MEMORY_MB = 4096;
const MEMORY_ENV = 'GRADWIRE_KERNEL_MEMORY_MB';

const ACTIVATION_IDS: Record<ActivationName, number> = {
  relu: 0,
  leaky_relu: 1,
  elu: 2,
  selu: 3,
  gelu: 4,
  sigmoid: 5,
  tanh: 6,
  softplus: 7,
  silu: 8,
};
const LOSS_IDS: Record<LossName, number> = { cross_entropy: 0, mse: 1 };
const RULE_IDS: Record<UpdateRule, number> = {
  sgd: 0,
  momentum: 1,
  nesterov: 2,
  adagrad: 3,
  rmsprop: 4,
  adadelta: 5,
  adam: 6,
  nadam: 7,
};

/** names for error messages, made once (no string building per call) */
const UPDATE_NAMES = Object.fromEntries(Object.keys(RULE_IDS).map((r) => [r, `update(${r})`])) as Record<
  UpdateRule,
  string
>;

/** The module's exports (pointers are byte offsets into the imported memory). */
interface Exports {
  heapBase(): number;
  denseForward(x: number, w: number, b: number, y: number, rows: number, n: number, m: number): void;
  denseGrads(
    x: number,
    dy: number,
    gw: number,
    gb: number,
    rows: number,
    n: number,
    m: number,
    accumulate: number,
  ): void;
  denseDx(dy: number, w: number, dx: number, rows: number, n: number, m: number): void;
  activationForward(id: number, x: number, y: number, count: number): void;
  activationBackward(id: number, x: number, y: number, dy: number, dx: number, count: number): void;
  dropoutForward(
    x: number,
    y: number,
    scale: number,
    prefixes: number,
    rows: number,
    width: number,
    rate: number,
    keepScale: number,
  ): void;
  multiply(a: number, b: number, out: number, count: number): void;
  addInto(left: number, right: number, count: number): void;
  meanGradient(sum: number, out: number, rows: number, count: number): number;
  sumSquares(g: number, count: number): number;
  loss(kind: number, logits: number, labels: number, rows: number, classes: number, dl: number, hasD: number): number;
  lossCorrect(): number;
  update(
    rule: number,
    p: number,
    g: number,
    a: number,
    b: number,
    count: number,
    lr: number,
    momentum: number,
    beta1: number,
    beta2: number,
    eps: number,
    alpha: number,
    rho: number,
    bc1: number,
    bc2: number,
    cGrad: number,
    cAvg: number,
  ): void;
  bnPartialStats(x: number, rows: number, F: number, out: number): void;
  bnApplyStats(
    x: number,
    rows: number,
    F: number,
    stats: number,
    gb: number,
    eps: number,
    invStd: number,
    xhat: number,
    y: number,
  ): void;
  bnForwardEval(
    x: number,
    rows: number,
    F: number,
    running: number,
    gb: number,
    eps: number,
    invStd: number,
    xhat: number,
    y: number,
  ): void;
  bnPartialGradSums(dy: number, xhat: number, rows: number, F: number, sums: number, g: number): void;
  bnApplyGradSums(
    dy: number,
    xhat: number,
    rows: number,
    F: number,
    gb: number,
    invStd: number,
    sums: number,
    n: number,
    dx: number,
  ): void;
  bnBackwardEval(dy: number, rows: number, F: number, gb: number, invStd: number, dx: number): void;
  bnUpdateRunning(running: number, stats: number, F: number, momentum: number): void;
}

/** (module (func (result v128) (v128.const i32x4 0 0 0 0))): valid exactly where the engine
 *  has WebAssembly SIMD */
const SIMD_PROBE = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // magic, version
  0x01,
  0x05,
  0x01,
  0x60,
  0x00,
  0x01,
  0x7b, // types: () -> v128
  0x03,
  0x02,
  0x01,
  0x00, // functions: one of type 0
  0x0a,
  0x16,
  0x01,
  0x14,
  0x00,
  0xfd,
  0x0c,
  ...new Array<number>(16).fill(0),
  0x0b, // code: v128.const 0, end
]);

/** undefined: not tried yet; null: this engine cannot run WebAssembly SIMD */
let cachedModule: WebAssembly.Module | null | undefined;
/** sha256 (hex) of the module's bytes, set when they are read */
let cachedSha256: string | undefined;

function loadModule(): WebAssembly.Module | null {
  if (cachedModule !== undefined) return cachedModule;
  const file = WASM_CANDIDATES.find((u) => existsSync(u));
  if (!file) {
    throw new Error(
      `wasm-simd kernels: ${WASM_CANDIDATES[0]!.pathname} is missing; build it with \`npm run build:wasm\` ` +
        '(npm ci / npm install run it too)',
    );
  }
  const bytes = readFileSync(file);
  cachedSha256 = createHash('sha256').update(bytes).digest('hex');
  if (WebAssembly.validate(bytes)) {
    cachedModule = new WebAssembly.Module(bytes);
  } else if (WebAssembly.validate(SIMD_PROBE)) {
    // the engine has SIMD, so the file itself is bad (truncated, or from another build)
    throw new Error(
      `wasm-simd kernels: ${file.pathname} is not a valid module; rebuild it with \`npm run build:wasm\``,
    );
  } else {
    cachedModule = null;
  }
  return cachedModule;
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
  const raw = process.env[MEMORY_ENV];
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
  type View = Float32Array | Int32Array | Float64Array;
  type Tagged = View & { [tag]?: number };

  function tagged<T extends View>(a: T): T {
    (a as Tagged)[tag] = a.byteOffset;
    return a;
  }

  /** Sizes must be int32 values ≥ 0 (the module reads them as unsigned: a negative one would
   *  run past every array). */
  function sizes(fn: string, a: number, b = 0, c = 0): void {
    if ((a | 0) !== a || (b | 0) !== b || (c | 0) !== c || a < 0 || b < 0 || c < 0) {
      throw new Error(`wasm-simd ${fn}: sizes must be integers ≥ 0, got ${[a, b, c].join(', ')}`);
    }
  }

  /** the module's number for a name (an unknown one would silently run case 0) */
  function id<K extends string>(table: Record<K, number>, name: K, fn: string): number {
    const v = table[name];
    if (v === undefined) throw new Error(`wasm-simd ${fn}: unknown name ${JSON.stringify(name)}`);
    return v;
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

    denseForward(x, W, b, y, rows, n, m) {
      const f = 'denseForward';
      sizes(f, rows, n, m);
      wasm.denseForward(
        ptr(x, rows * n, 'x', f),
        ptr(W, m * n, 'W', f),
        ptr(b, m, 'b', f),
        ptr(y, rows * m, 'y', f),
        rows,
        n,
        m,
      );
    },

    denseGrads(x, dy, gW, gb, rows, n, m, accumulate = true) {
      const f = 'denseGrads';
      sizes(f, rows, n, m);
      wasm.denseGrads(
        ptr(x, rows * n, 'x', f),
        ptr(dy, rows * m, 'dy', f),
        ptr(gW, m * n, 'gW', f),
        ptr(gb, m, 'gb', f),
        rows,
        n,
        m,
        accumulate ? 1 : 0,
      );
    },

    denseDx(dy, W, dx, rows, n, m) {
      const f = 'denseDx';
      sizes(f, rows, n, m);
      wasm.denseDx(ptr(dy, rows * m, 'dy', f), ptr(W, m * n, 'W', f), ptr(dx, rows * n, 'dx', f), rows, n, m);
    },

    activationForward(name, x, y, count) {
      const f = 'activationForward';
      sizes(f, count);
      wasm.activationForward(id(ACTIVATION_IDS, name, f), ptr(x, count, 'x', f), ptr(y, count, 'y', f), count);
    },

    activationBackward(name, x, y, dy, dx, count) {
      const f = 'activationBackward';
      sizes(f, count);
      wasm.activationBackward(
        id(ACTIVATION_IDS, name, f),
        ptr(x, count, 'x', f),
        ptr(y, count, 'y', f),
        ptr(dy, count, 'dy', f),
        ptr(dx, count, 'dx', f),
        count,
      );
    },

    dropoutForward(x, y, scale, prefixes, rows, width, rate, keepScale) {
      const f = 'dropoutForward';
      sizes(f, rows, width);
      const c = rows * width;
      wasm.dropoutForward(
        ptr(x, c, 'x', f),
        ptr(y, c, 'y', f),
        ptr(scale, c, 'scale', f),
        ptr(prefixes, rows, 'prefixes', f),
        rows,
        width,
        rate,
        keepScale,
      );
    },

    multiply(a, b, out, count) {
      const f = 'multiply';
      sizes(f, count);
      wasm.multiply(ptr(a, count, 'a', f), ptr(b, count, 'b', f), ptr(out, count, 'out', f), count);
    },

    loss(name: LossName, logits, labels, rows, classes, dlogits): LossResult {
      const f = 'loss';
      sizes(f, rows, classes);
      const c = rows * classes;
      const lossSum = wasm.loss(
        id(LOSS_IDS, name, f),
        ptr(logits, c, 'logits', f),
        ptr(labels, rows, 'labels', f),
        rows,
        classes,
        dlogits ? ptr(dlogits, c, 'dlogits', f) : 0,
        dlogits ? 1 : 0,
      );
      return { lossSum, correct: wasm.lossCorrect() };
    },

    addInto(left, right, count) {
      const f = 'addInto';
      sizes(f, count);
      wasm.addInto(ptr(left, count, 'left', f), ptr(right, count, 'right', f), count);
    },

    owns(a) {
      return a.buffer === buffer;
    },

    meanGradient(sum, out, rows, count) {
      const f = 'meanGradient';
      sizes(f, count, rows);
      return wasm.meanGradient(ptr(sum, count, 'sum', f), ptr(out, count, 'out', f), rows, count) === 1;
    },

    sumSquares(g, count) {
      const f = 'sumSquares';
      sizes(f, count);
      return wasm.sumSquares(ptr(g, count, 'g', f), count);
    },

    update(rule: UpdateRule, p, g, s1, s2, count, k: UpdateScalars) {
      const f = UPDATE_NAMES[rule] ?? 'update';
      sizes(f, count);
      const r = id(RULE_IDS, rule, f);
      // slots a rule does not use may be any array: pass the parameters' offset instead
      const slots = r === 0 ? 0 : r <= 4 ? 1 : 2;
      const pp = ptr(p, count, 'p', f);
      const a = slots >= 1 ? ptr(s1, count, 's1', f) : pp;
      const b = slots >= 2 ? ptr(s2, count, 's2', f) : pp;
      wasm.update(
        r,
        pp,
        ptr(g, count, 'g', f),
        a,
        b,
        count,
        k.lr,
        k.momentum,
        k.beta1,
        k.beta2,
        k.eps,
        k.alpha,
        k.rho,
        k.bc1,
        k.bc2,
        k.cGrad,
        k.cAvg,
      );
    },

    bnPartialStats(x, rows, F, out) {
      const f = 'bnPartialStats';
      sizes(f, rows, F);
      wasm.bnPartialStats(ptr(x, rows * F, 'x', f), rows, F, ptr(out, 1 + 2 * F, 'out', f));
    },

    bnApplyStats(x, rows, F, stats, gammaBeta, eps, invStd, xhat, y) {
      const f = 'bnApplyStats';
      sizes(f, rows, F);
      const c = rows * F;
      wasm.bnApplyStats(
        ptr(x, c, 'x', f),
        rows,
        F,
        ptr(stats, 1 + 2 * F, 'stats', f),
        ptr(gammaBeta, 2 * F, 'gammaBeta', f),
        eps,
        ptr(invStd, F, 'invStd', f),
        ptr(xhat, c, 'xhat', f),
        ptr(y, c, 'y', f),
      );
    },

    bnForwardEval(x, rows, F, running, gammaBeta, eps, invStd, xhat, y) {
      const f = 'bnForwardEval';
      sizes(f, rows, F);
      const c = rows * F;
      wasm.bnForwardEval(
        ptr(x, c, 'x', f),
        rows,
        F,
        ptr(running, 2 * F, 'running', f),
        ptr(gammaBeta, 2 * F, 'gammaBeta', f),
        eps,
        ptr(invStd, F, 'invStd', f),
        ptr(xhat, c, 'xhat', f),
        ptr(y, c, 'y', f),
      );
    },

    bnPartialGradSums(dy, xhat, rows, F, sums, gGammaBeta) {
      const f = 'bnPartialGradSums';
      sizes(f, rows, F);
      const c = rows * F;
      wasm.bnPartialGradSums(
        ptr(dy, c, 'dy', f),
        ptr(xhat, c, 'xhat', f),
        rows,
        F,
        ptr(sums, 2 * F, 'sums', f),
        ptr(gGammaBeta, 2 * F, 'gGammaBeta', f),
      );
    },

    bnApplyGradSums(dy, xhat, rows, F, gammaBeta, invStd, sums, n, dx) {
      const f = 'bnApplyGradSums';
      sizes(f, rows, F);
      const c = rows * F;
      wasm.bnApplyGradSums(
        ptr(dy, c, 'dy', f),
        ptr(xhat, c, 'xhat', f),
        rows,
        F,
        ptr(gammaBeta, F, 'gammaBeta', f),
        ptr(invStd, F, 'invStd', f),
        ptr(sums, 2 * F, 'sums', f),
        n,
        ptr(dx, c, 'dx', f),
      );
    },

    bnBackwardEval(dy, rows, F, gammaBeta, invStd, dx) {
      const f = 'bnBackwardEval';
      sizes(f, rows, F);
      const c = rows * F;
      wasm.bnBackwardEval(
        ptr(dy, c, 'dy', f),
        rows,
        F,
        ptr(gammaBeta, F, 'gammaBeta', f),
        ptr(invStd, F, 'invStd', f),
        ptr(dx, c, 'dx', f),
      );
    },

    bnUpdateRunning(running, stats, F, momentum) {
      const f = 'bnUpdateRunning';
      sizes(f, F);
      wasm.bnUpdateRunning(ptr(running, 2 * F, 'running', f), ptr(stats, 1 + 2 * F, 'stats', f), F, momentum);
    },
  };
}
