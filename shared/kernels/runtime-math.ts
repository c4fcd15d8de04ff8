// What a worker's bits depend on besides its inputs, per kernel variant — the facts the
// handshake compares (shared/protocol.ts, runtimeMismatch).
//
// The worker's per-step path is fillSlot (a copy or table lookup of dataset rows), trainPass
// (shared/engine/pass.ts: each layer's forward, the loss, each layer's backward, the tree sums
// of its gradient blocks) and resultBlocks (loss sums added in JS). The JS code on that path
// outside the kernels uses only arithmetic and Math.sqrt — correctly rounded in every
// conforming engine, so runtime-independent — and exact integer helpers (Math.imul,
// Math.floor, Math.min/max/abs): GroupwiseNorm (layer/group/instance norm, shared/nn/norms.ts),
// the dropout hash prefix and 1/(1-p) (shared/nn/elementwise.ts, shared/rng.ts), the tree
// sums. Everything that calls an elementary function goes through the kernels:
//
//   wasm-simd  the whole path's exp/log/expm1/log1p/tanh/erf (losses, activations) are
//              AssemblyScript's own Math, compiled into kernels.wasm; the module imports nothing
//              but its memory, and WebAssembly arithmetic (f32x4/f64x2 SIMD included; no relaxed
//              SIMD) is specified bit for bit. Its results are a function of the wasm bytes:
//              the handshake compares their sha256 (the kernel build) and not the runtime.
//   js         shared/nn/loss.ts (cross_entropy: Math.exp, Math.log — every classifier) and
//              shared/nn/activations.ts (Math.exp in sigmoid, silu, softplus, gelu, elu/selu
//              backward; Math.expm1 in elu, selu; Math.log1p in softplus; Math.tanh): the
//              runtime's own functions, whose last bits have changed between V8 versions and
//              may differ between builds of one version (e.g. FMA contraction on another CPU).
//              The handshake requires the same V8 version and the same math fingerprint.
//
// Not on a worker's path (the coordinator computes them once per run, for everyone): weight
// initialization (Rng.normal: Math.log, sin, cos), optimizer bias corrections and schedules
// (`**`, Math.cos), synthetic datasets, sweep samplers.
import type { KernelVariant } from './kernels.js';

/** Whether a variant's results depend on the runtime's elementary functions (see above). */
export const USES_RUNTIME_MATH: Readonly<Record<KernelVariant, boolean>> = { js: true, 'wasm-simd': false };

const lin =
  (lo: number, hi: number) =>
  (u: number): number =>
    lo + (hi - lo) * u;
/** 2^e for an integer e, by exact doublings or halvings (no Math.pow: the probes themselves
 *  must not depend on the runtime) */
function pow2(e: number): number {
  let p = 1;
  for (let i = 0; i < e; i++) p *= 2;
  for (let i = 0; i > e; i--) p /= 2;
  return p;
}
/** spread evenly over the binades 2^lo … 2^hi */
const logUniform =
  (lo: number, hi: number) =>
  (u: number): number => {
    const t = lo + (hi - lo) * u;
    const e = Math.floor(t);
    return (1 + (t - e)) * pow2(e);
  };

/** the runtime functions the js variant calls on a worker's path, each with two ranges of
 *  probe arguments: where its arguments come from in training, and a wider one */
const PROBED: ReadonlyArray<[string, (x: number) => number, Array<(u: number) => number>]> = [
  ['exp', Math.exp, [lin(-2, 2), lin(-60, 60)]],
  ['expm1', Math.expm1, [lin(-1, 1), lin(-40, 5)]],
  ['log', Math.log, [lin(1, 1000), logUniform(-30, 30)]],
  ['log1p', Math.log1p, [lin(0, 1), lin(-0.999, 50)]],
  ['tanh', Math.tanh, [lin(-1, 1), lin(-20, 20)]],
];

const SPECIAL = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  2,
  1e-300,
  -1e-300,
  5e-324,
  1e-10,
  -1e-10,
  1e-5,
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: a probe value for the math fingerprint, written as a literal on purpose
  0.6931471805599453,
  709.78,
  709.79,
  -745.1,
  -708.4,
  88.72,
  -87.33,
  19.06,
  -19.06,
  1e300,
  Infinity,
  -Infinity,
  NaN,
];

/** probes per range */
const PROBES = 2048;

let cached: string | undefined;

/** A fingerprint of this runtime's elementary functions as the js kernels use them: a 64-bit
 *  hash (16 hex digits) of Math.exp, expm1, log, log1p and tanh at fixed probe arguments — the
 *  special values above and, per function, 2 × 2048 spread over its training range and a wider
 *  one (half of them float32 values, as the activations' inputs are). Two runtimes whose implementations differ
 *  (another algorithm, another rounding in a range) almost surely differ here; equal
 *  fingerprints do not prove equal functions everywhere, which is why the js variant also
 *  needs the same V8 version. Computed once (~2 ms). */
export function mathFingerprint(): string {
  if (cached !== undefined) return cached;
  const bits = new Float64Array(1);
  const words = new Uint32Array(bits.buffer);
  // two FNV-1a-style lanes over the 32-bit words of each result
  let h1 = 0x811c9dc5 | 0,
    h2 = 0x01000193 ^ 0x9e3779b9;
  const add = (v: number): void => {
    bits[0] = Number.isNaN(v) ? NaN : v; // one NaN pattern: engines need not agree on NaN bits
    for (let w = 0; w < 2; w++) {
      h1 = Math.imul(h1 ^ words[w]!, 0x01000193);
      h2 = Math.imul(h2 ^ words[w]!, 0x5bd1e995) ^ (h2 >>> 15);
    }
  };
  // xorshift32 over a fixed seed: the same probes everywhere
  let s = 0x2545f491;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  for (const [, f, ranges] of PROBED) {
    for (const x of SPECIAL) add(f(x));
    for (const range of ranges) {
      for (let i = 0; i < PROBES; i++) {
        const x = range(next());
        add(f(i % 2 === 0 ? x : Math.fround(x)));
      }
    }
  }
  const hex = (h: number): string => (h >>> 0).toString(16).padStart(8, '0');
  cached = hex(h1) + hex(h2);
  return cached;
}
