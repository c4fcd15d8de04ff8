// denseForwardSparse (the first layer of `gradwire predict` over sparse rows: only the nonzero
// inputs, in the axpy form over Wᵀ in column panels) gives the same bits as denseForward with W, in both kernel
// variants, because it keeps each output's sum order and a skipped term is ±0. Checked against
// a plain JS reference of that order (written here from the spec in assembly/gemm.ts: four f32
// lane sums over k ≡ l mod 4, combined (a0 + a2) + (a1 + a3), then the k tail, then the bias;
// for js: one float64 sum over k ascending) that runs over every input, zeros included, and
// against the variant's own denseForward, on seeded random sparse inputs of several shapes.
import { describe, expect, it } from 'vitest';
import { createJsKernels } from '../../shared/kernels/js.js';
import type { Kernels } from '../../shared/kernels/kernels.js';
import { sparsePanels, sparseScratch } from '../../shared/kernels/panels.js';
import { createWasmKernels } from '../../shared/kernels/wasm.js';
import '../../shared/node/kernels-wasm.js';
import { Rng } from '../../shared/rng.js';

const f = Math.fround;

/** wasm-simd's denseForward, element by element over every k (gemm.ts's stated order) */
function referenceF32(x: Float32Array, W: Float32Array, b: Float32Array, rows: number, n: number, m: number) {
  const y = new Float32Array(rows * m);
  const n4 = n & ~3;
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < m; j++) {
      const a = [0, 0, 0, 0];
      for (let k = 0; k < n4; k++) a[k % 4] = f(a[k % 4]! + f(x[r * n + k]! * W[j * n + k]!));
      let s = f(f(a[0]! + a[2]!) + f(a[1]! + a[3]!));
      for (let k = n4; k < n; k++) s = f(s + f(x[r * n + k]! * W[j * n + k]!));
      y[r * m + j] = f(s + b[j]!);
    }
  return y;
}

/** js's denseForward: a float64 sum over k ascending from 0, plus the bias, stored as f32 */
function referenceF64(x: Float32Array, W: Float32Array, b: Float32Array, rows: number, n: number, m: number) {
  const y = new Float32Array(rows * m);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += x[r * n + k]! * W[j * n + k]!;
      y[r * m + j] = s + b[j]!;
    }
  return y;
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** a case: x with `density` nonzero values (some of the zeros −0), W and b with some exact zeros */
function sparseCase(k: Kernels, seed: number, rows: number, n: number, m: number, density: number) {
  const rng = new Rng(seed, 'sparse-kernel', rows, n, m, density);
  const x = k.alloc(rows * n);
  for (let i = 0; i < x.length; i++) {
    const u = rng.uniform();
    x[i] = u < density ? rng.range(-2, 2) : u < density + (1 - density) / 8 ? -0 : 0;
  }
  const W = k.alloc(m * n);
  for (let i = 0; i < W.length; i++) W[i] = rng.uniform() < 0.1 ? 0 : rng.range(-1, 1) * 2 ** rng.int(8);
  const b = k.alloc(m);
  for (let j = 0; j < m; j++) b[j] = rng.range(-1, 1);
  return { x, W, b, Wp: sparsePanels(W, n, m, k.alloc(n * m)) };
}

const SHAPES: Array<[rows: number, n: number, m: number]> = [
  [5, 784, 256], // the default MLP's first layer
  [37, 784, 256], // more rows than a group (16): three groups, the last partial
  [3, 13, 37], // n with a tail of 1, m past a block of 32 plus a 4-block plus 1
  [4, 7, 3], // n < 8, m < 4
  [2, 1, 33],
  [3, 40, 64],
  [20, 9, 100], // three full panels and one of 4
];
const DENSITIES = [0, 0.05, 0.2, 0.5, 1];

const wasm = createWasmKernels();
const variants: Array<[string, Kernels, typeof referenceF32]> = [['js', createJsKernels(), referenceF64]];
if (wasm) variants.push(['wasm-simd', wasm, referenceF32]);

describe.each(variants)('%s denseForwardSparse', (_name, k, reference) => {
  it('has the bits of the dense reference order and of denseForward, for every shape and density', () => {
    let seed = 0;
    for (const [rows, n, m] of SHAPES)
      for (const density of DENSITIES) {
        const { x, W, b, Wp } = sparseCase(k, seed++, rows, n, m, density);
        const sparse = k.alloc(rows * m);
        const dense = k.alloc(rows * m);
        k.denseForwardSparse(x, Wp, b, sparse, k.allocInt32(sparseScratch(n)), rows, n, m);
        k.denseForward(x, W, b, dense, rows, n, m);
        const what = `${rows}×${n}→${m} at density ${density}`;
        expect(bits(sparse), what).toEqual(bits(reference(x, W, b, rows, n, m)));
        expect(bits(sparse), what).toEqual(bits(dense));
      }
  });

  it('from bytes (IDX pixels, x = b / 255) has the bits of the float path and of denseForward', () => {
    const table = k.alloc(256);
    for (let v = 0; v < 256; v++) table[v] = v / 255;
    let seed = 100;
    for (const [rows, n, m] of [...SHAPES, [150, 784, 256] as [number, number, number]])
      for (const density of DENSITIES) {
        const rng = new Rng(seed++, 'sparse-bytes', rows, n, m, density);
        const bytes = k.allocBytes(rows * n);
        const x = k.alloc(rows * n);
        for (let i = 0; i < bytes.length; i++) {
          bytes[i] = rng.uniform() < density ? 1 + rng.int(255) : 0;
          x[i] = bytes[i]! / 255;
        }
        const { W, b, Wp } = sparseCase(k, seed, 1, n, m, 0.5);
        const fromBytes = k.alloc(rows * m);
        const dense = k.alloc(rows * m);
        k.denseForwardSparseBytes(bytes, table, Wp, b, fromBytes, k.allocInt32(sparseScratch(n)), rows, n, m);
        k.denseForward(x, W, b, dense, rows, n, m);
        expect(bits(fromBytes), `${rows}×${n}→${m} at density ${density}`).toEqual(bits(dense));
      }
  });

  it('countNonzeroBytes counts the bytes that are not 0, over every length', () => {
    const bytes = k.allocBytes(300);
    const rng = new Rng(5, 'count-bytes');
    for (let i = 0; i < bytes.length; i++) bytes[i] = rng.uniform() < 0.3 ? rng.int(256) : 0;
    for (const count of [300, 299, 33, 17, 16, 15, 1, 0])
      expect(k.countNonzeroBytes(bytes, count), `count ${count}`).toBe(
        bytes.subarray(0, count).filter((v) => v !== 0).length,
      );
  });

  it('countNonzero counts the values that are not ±0 (NaN and ±∞ count), over every length', () => {
    const { x } = sparseCase(k, 99, 3, 100, 1, 0.3);
    x[7] = Number.NaN;
    x[8] = -Infinity;
    for (const count of [300, 299, 17, 16, 15, 4, 3, 1, 0])
      expect(k.countNonzero(x, count), `count ${count}`).toBe(
        Array.from(x.subarray(0, count)).filter((v) => v !== 0).length,
      );
  });

  it('sparsePanels lays W out as panels.ts does, and says whether W is finite', () => {
    for (const [, n, m] of SHAPES) {
      const { W } = sparseCase(k, 7, 1, n, m, 0.5);
      const Wp = k.alloc(n * m);
      expect(k.sparsePanels(W, Wp, n, m), `${n}×${m}`).toBe(true);
      const want = bits(sparsePanels(W, n, m, new Float32Array(n * m)));
      const got = bits(Wp);
      expect(
        got.findIndex((v, i) => v !== want[i]),
        `${n}×${m}: the first value that differs`,
      ).toBe(-1);
    }
    const { W } = sparseCase(k, 8, 1, 40, 64, 0.5);
    for (const bad of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN]) {
      const w = k.alloc(W.length);
      w.set(W);
      w[40 * 64 - 1] = bad;
      expect(k.sparsePanels(w, k.alloc(W.length), 40, 64), String(bad)).toBe(false);
    }
  });

  it('unitBytes scales every byte b to fround(b / 255), training’s pixel scaling, over every length', () => {
    const bytes = k.allocBytes(256 + 21);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
    for (const count of [277, 256, 33, 16, 15, 1, 0]) {
      const x = k.alloc(277).fill(-1);
      k.unitBytes(bytes, x, count);
      for (let i = 0; i < 277; i++)
        expect(x[i], `byte ${bytes[i]} of ${count}`).toBe(i < count ? f(bytes[i]! / 255) : -1);
    }
  });
});
