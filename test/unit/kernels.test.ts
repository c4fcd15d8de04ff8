// The kernel variants against each other. The js variant (plain TypeScript, f64 per element) is
// the reference; the wasm-simd variant must match it bit for bit where its arithmetic is the
// same (relu/leaky_relu, dropout, multiply, addInto, every optimizer rule, every BatchNorm
// kernel), and within the stated tolerances where it is not (the GEMMs accumulate in f32 SIMD
// lanes, the other activations and the losses use AssemblyScript's Math). Its own exactness
// contract (I1) is checked bitwise: a row's result does not depend on the other rows of the
// call or on its position, and gradients are sums over rows in ascending order.
// Both variants also go through a finite-difference check of the dense products.
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, type ActivationName, type LossName } from '../../shared/config-types.js';
import { createJsKernels } from '../../shared/kernels/js.js';
import type { Kernels, UpdateRule, UpdateScalars } from '../../shared/kernels/kernels.js';
import { createWasmKernels } from '../../shared/kernels/wasm.js';
import '../../shared/node/kernels-wasm.js';
import { hashPrefix, hashUniformFrom, Rng } from '../../shared/rng.js';

const U = 2 ** -24; // unit roundoff of float32

const wasm = createWasmKernels();
const js = createJsKernels();

/** n values in k's memory, uniform in [lo, hi) */
function rand(k: Kernels, n: number, rng: Rng, lo = -1, hi = 1): Float32Array {
  const a = k.alloc(n);
  for (let i = 0; i < n; i++) a[i] = rng.range(lo, hi);
  return a;
}

/** a copy of `src` in k's memory */
function copy(k: Kernels, src: ArrayLike<number>): Float32Array {
  const a = k.alloc(src.length);
  a.set(src);
  return a;
}

function copyInt(k: Kernels, src: ArrayLike<number>): Int32Array {
  const a = k.allocInt32(src.length);
  a.set(src);
  return a;
}

/** index of the first element whose bits differ, or -1 */
function firstBitDiff(a: Float32Array, b: Float32Array, count = a.length): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, count);
  const ub = new Uint32Array(b.buffer, b.byteOffset, count);
  for (let i = 0; i < count; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

function expectBitEqual(a: Float32Array, b: Float32Array, what: string, count = a.length): void {
  const i = firstBitDiff(a, b, count);
  if (i >= 0) throw new Error(`${what}: element ${i} differs: ${a[i]} vs ${b[i]}`);
}

/** distance in float32 units in the last place (same-sign finite values; 0 and -0 are 0 apart) */
function ulps(a: number, b: number): number {
  if (a === b) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b) || Math.sign(a) !== Math.sign(b)) return Infinity;
  const f = new Float32Array([a, b]);
  const u = new Int32Array(f.buffer);
  return Math.abs(u[0]! - u[1]!);
}

const wasmIt = wasm ? it : it.skip;
if (!wasm) {
  console.warn('kernels.test: WebAssembly SIMD is unavailable on this engine; the wasm-simd tests are skipped');
}

describe('wasm-simd kernels: dense products against js', () => {
  // Tolerance: |wasm − js| ≤ 2·(a + 2)·u·Σ|terms| per element, where a is the number of
  // sequential f32 additions in one element (forward: n/4 lane sums + 2 combining + the
  // n mod 4 tail + bias; dx: m; grads: rows + the starting value), u = 2^-24 and Σ|terms| the
  // sum of the absolute values of everything added. That is the standard worst-case bound of
  // recursive summation, once for each variant (the js variant rounds to f32 too).
  const SIZES = [1, 7, 10, 128, 131, 784];
  const ROWS = [1, 3, 5, 16, 17, 33];

  wasmIt('denseForward, denseDx and denseGrads for rows × n × m over {1,3,5,16,17,33} × {1,7,10,128,131,784}²', () => {
    const w = wasm!;
    const rng = new Rng(1, 'kernels-test', 'gemm');
    let worst = 0;
    for (const n of SIZES) {
      for (const m of SIZES) {
        const xsMax = 33 * n;
        // operands shared by the row counts of this (n, m)
        const W = rand(js, m * n, rng),
          b = rand(js, m, rng);
        const xAll = rand(js, xsMax, rng),
          dyAll = rand(js, 33 * m, rng);
        const gW0 = rand(js, m * n, rng, -0.5, 0.5),
          gb0 = rand(js, m, rng, -0.5, 0.5);
        const Ww = copy(w, W),
          bw = copy(w, b);
        for (const rows of ROWS) {
          const x = xAll.subarray(0, rows * n),
            dy = dyAll.subarray(0, rows * m);
          const xw = copy(w, x),
            dyw = copy(w, dy);
          // forward
          const yj = js.alloc(rows * m),
            yw = w.alloc(rows * m);
          js.denseForward(x, W, b, yj, rows, n, m);
          w.denseForward(xw, Ww, bw, yw, rows, n, m);
          const addsF = Math.ceil(n / 4) + 2 + (n % 4) + 1;
          for (let r = 0; r < rows; r++) {
            for (let j = 0; j < m; j++) {
              let abs = Math.abs(b[j]!);
              for (let k = 0; k < n; k++) abs += Math.abs(x[r * n + k]! * W[j * n + k]!);
              const d = Math.abs(yw[r * m + j]! - yj[r * m + j]!);
              const tol = 2 * (addsF + 2) * U * abs;
              worst = Math.max(worst, d / abs);
              if (!(d <= tol))
                throw new Error(`denseForward ${rows}×${n}→${m} [${r},${j}]: ${yw[r * m + j]} vs js ${yj[r * m + j]}`);
            }
          }
          // dx
          const dxj = js.alloc(rows * n),
            dxw = w.alloc(rows * n);
          js.denseDx(dy, W, dxj, rows, n, m);
          w.denseDx(dyw, Ww, dxw, rows, n, m);
          for (let r = 0; r < rows; r++) {
            for (let k = 0; k < n; k++) {
              let abs = 0;
              for (let j = 0; j < m; j++) abs += Math.abs(dy[r * m + j]! * W[j * n + k]!);
              const d = Math.abs(dxw[r * n + k]! - dxj[r * n + k]!);
              if (!(d <= 2 * (m + 2) * U * abs))
                throw new Error(`denseDx ${rows}×${n}→${m} [${r},${k}]: ${dxw[r * n + k]} vs js ${dxj[r * n + k]}`);
            }
          }
          // grads, accumulated onto nonzero starting values
          const gWj = copy(js, gW0),
            gbj = copy(js, gb0),
            gWw = copy(w, gW0),
            gbw = copy(w, gb0);
          js.denseGrads(x, dy, gWj, gbj, rows, n, m);
          w.denseGrads(xw, dyw, gWw, gbw, rows, n, m);
          for (let j = 0; j < m; j++) {
            let absB = Math.abs(gb0[j]!);
            for (let r = 0; r < rows; r++) absB += Math.abs(dy[r * m + j]!);
            if (!(Math.abs(gbw[j]! - gbj[j]!) <= 2 * (rows + 2) * U * absB))
              throw new Error(`denseGrads ${rows}×${n}→${m} gb[${j}]: ${gbw[j]} vs js ${gbj[j]}`);
            for (let k = 0; k < n; k++) {
              let abs = Math.abs(gW0[j * n + k]!);
              for (let r = 0; r < rows; r++) abs += Math.abs(dy[r * m + j]! * x[r * n + k]!);
              const d = Math.abs(gWw[j * n + k]! - gWj[j * n + k]!);
              if (!(d <= 2 * (rows + 2) * U * abs))
                throw new Error(
                  `denseGrads ${rows}×${n}→${m} gW[${j},${k}]: ${gWw[j * n + k]} vs js ${gWj[j * n + k]}`,
                );
            }
          }
        }
      }
    }
    // the observed forward error is far inside the bound (a sanity check on the test itself)
    expect(worst).toBeLessThan(1e-5);
  });
});

describe('wasm-simd kernels: row independence (I1), bitwise', () => {
  const SHAPES: Array<[number, number]> = [
    [784, 256],
    [256, 128],
    [128, 10],
    [131, 7],
    [7, 131],
    [1, 1],
  ];
  const ROWS = 37;
  const AT = 13;

  wasmIt('a row of denseForward / denseDx is the same alone, at position 0 and at position 13 of 37 rows', () => {
    const w = wasm!;
    const rng = new Rng(2, 'kernels-test', 'rows');
    for (const [n, m] of SHAPES) {
      const W = rand(w, m * n, rng),
        b = rand(w, m, rng);
      const row = rand(w, n, rng),
        dyRow = rand(w, m, rng);
      const outs: Float32Array[] = [];
      const dxs: Float32Array[] = [];
      for (const at of [-1, 0, AT]) {
        const rows = at < 0 ? 1 : ROWS;
        const pos = Math.max(at, 0);
        const x = rand(w, rows * n, rng),
          dy = rand(w, rows * m, rng);
        x.set(row, pos * n);
        dy.set(dyRow, pos * m);
        const y = w.alloc(rows * m),
          dx = w.alloc(rows * n);
        w.denseForward(x, W, b, y, rows, n, m);
        w.denseDx(dy, W, dx, rows, n, m);
        outs.push(y.subarray(pos * m, pos * m + m));
        dxs.push(dx.subarray(pos * n, pos * n + n));
      }
      expectBitEqual(outs[1]!, outs[0]!, `denseForward ${n}→${m}, row at 0 of ${ROWS} vs alone`);
      expectBitEqual(outs[2]!, outs[0]!, `denseForward ${n}→${m}, row at ${AT} of ${ROWS} vs alone`);
      expectBitEqual(dxs[1]!, dxs[0]!, `denseDx ${n}→${m}, row at 0 of ${ROWS} vs alone`);
      expectBitEqual(dxs[2]!, dxs[0]!, `denseDx ${n}→${m}, row at ${AT} of ${ROWS} vs alone`);
    }
  });

  wasmIt('denseGrads over 37 rows equals 37 one-row calls in ascending order, from the same gW', () => {
    const w = wasm!;
    const rng = new Rng(3, 'kernels-test', 'grads-order');
    for (const [n, m] of SHAPES) {
      const x = rand(w, ROWS * n, rng),
        dy = rand(w, ROWS * m, rng);
      const gW0 = rand(w, m * n, rng),
        gb0 = rand(w, m, rng);
      const gWa = copy(w, gW0),
        gba = copy(w, gb0),
        gWb = copy(w, gW0),
        gbb = copy(w, gb0);
      w.denseGrads(x, dy, gWa, gba, ROWS, n, m);
      // subarray views of odd n are not 16-byte aligned: the kernels must not care
      for (let r = 0; r < ROWS; r++) w.denseGrads(x.subarray(r * n), dy.subarray(r * m), gWb, gbb, 1, n, m);
      expectBitEqual(gWa, gWb, `denseGrads gW ${n}→${m}`);
      expectBitEqual(gba, gbb, `denseGrads gb ${n}→${m}`);
    }
  });
});

describe('denseGrads without accumulate (what a pass uses: no zeroing of the gradient first)', () => {
  const variants: Array<[string, Kernels | null]> = [
    ['js', js],
    ['wasm-simd', wasm],
  ];
  for (const [name, k] of variants) {
    (k ? it : it.skip)(`${name}: the sums replace gW and gb, bit for bit as zeroing them and accumulating`, () => {
      const rng = new Rng(4, 'kernels-test', 'fresh');
      for (const [rows, n, m] of [
        [16, 784, 256],
        [5, 131, 7],
        [1, 3, 10],
      ] as const) {
        const x = rand(k!, rows * n, rng),
          dy = rand(k!, rows * m, rng);
        const gWa = rand(k!, m * n, rng),
          gba = rand(k!, m, rng); // garbage, replaced
        const gWb = k!.alloc(m * n),
          gbb = k!.alloc(m);
        k!.denseGrads(x, dy, gWa, gba, rows, n, m, false);
        k!.denseGrads(x, dy, gWb, gbb, rows, n, m, true);
        expectBitEqual(gWa, gWb, `${name} gW ${rows}×${n}→${m}`);
        expectBitEqual(gba, gbb, `${name} gb ${rows}×${n}→${m}`);
      }
    });
  }
});

describe('wasm-simd kernels: elementwise against js', () => {
  /** inputs covering both branches, zeros, the erf series/continued-fraction switch and saturation */
  function inputs(k: Kernels, count: number, rng: Rng): Float32Array {
    const specials = [
      0,
      -0,
      1,
      -1,
      2.5 * Math.SQRT2,
      -2.5 * Math.SQRT2,
      6 * Math.SQRT2,
      -9,
      20,
      -20,
      100,
      -100,
      1e-30,
      -1e-30,
    ];
    const a = k.alloc(count);
    for (let i = 0; i < count; i++) a[i] = i < specials.length ? specials[i]! : 3 * rng.normal();
    return a;
  }

  const COUNT = 1027; // not a multiple of 4: the scalar tails too

  wasmIt('activations forward and backward: relu and leaky_relu bitwise, the others within 1 float32 ulp', () => {
    const w = wasm!;
    const rng = new Rng(4, 'kernels-test', 'act');
    const xj = inputs(js, COUNT, rng);
    const dyj = rand(js, COUNT, rng);
    const xw = copy(w, xj),
      dyw = copy(w, dyj);
    for (const name of ACTIVATIONS as readonly ActivationName[]) {
      const yj = js.alloc(COUNT),
        yw = w.alloc(COUNT),
        dxj = js.alloc(COUNT),
        dxw = w.alloc(COUNT);
      js.activationForward(name, xj, yj, COUNT);
      w.activationForward(name, xw, yw, COUNT);
      // backward from the same y (the js one), so only the backward formula is compared
      const yw2 = copy(w, yj);
      js.activationBackward(name, xj, yj, dyj, dxj, COUNT);
      w.activationBackward(name, xw, yw2, dyw, dxw, COUNT);
      if (name === 'relu' || name === 'leaky_relu') {
        expectBitEqual(yw, yj, `${name} forward`);
        expectBitEqual(dxw, dxj, `${name} backward`);
        continue;
      }
      for (let i = 0; i < COUNT; i++) {
        if (ulps(yw[i]!, yj[i]!) > 1) throw new Error(`${name} forward at x=${xj[i]}: ${yw[i]} vs js ${yj[i]}`);
        if (ulps(dxw[i]!, dxj[i]!) > 1) throw new Error(`${name} backward at x=${xj[i]}: ${dxw[i]} vs js ${dxj[i]}`);
      }
    }
  });

  wasmIt('dropout masks and outputs bitwise equal to js', () => {
    const w = wasm!;
    const rng = new Rng(5, 'kernels-test', 'dropout');
    for (const width of [1, 3, 4, 131, 256]) {
      const rows = 5;
      const prefixes = Array.from({ length: rows }, (_, r) => hashPrefix(7, 1000 + r, 2, rng.int(60000)));
      const xj = rand(js, rows * width, rng),
        xw = copy(w, xj);
      const pj = copyInt(js, prefixes),
        pw = copyInt(w, prefixes);
      // rates exactly at a unit's draw (kept: the test is ≥) and a hair either side, for a
      // unit in the SIMD body and one in the scalar tail
      const edges = [hashUniformFrom(prefixes[0]!, 0), hashUniformFrom(prefixes[1]!, width - 1)];
      const near = edges.flatMap((v) => [v, v + 2 ** -30, v - 2 ** -30]);
      for (const rate of [0, 0.1, 0.5, 1 / 3, 0.9, 1, -0.5, 1.5, ...near]) {
        for (const keepScale of [rate < 1 ? 1 / (1 - rate) : 1, 1]) {
          const yj = js.alloc(rows * width),
            sj = js.alloc(rows * width);
          const yw = w.alloc(rows * width),
            sw = w.alloc(rows * width);
          js.dropoutForward(xj, yj, sj, pj, rows, width, rate, keepScale);
          w.dropoutForward(xw, yw, sw, pw, rows, width, rate, keepScale);
          expectBitEqual(sw, sj, `dropout scale, width ${width}, rate ${rate}`);
          expectBitEqual(yw, yj, `dropout y, width ${width}, rate ${rate}`);
        }
      }
    }
  });

  wasmIt('multiply and addInto bitwise equal to js', () => {
    const w = wasm!;
    const rng = new Rng(6, 'kernels-test', 'mul');
    for (const count of [1, 5, 16, 67, 1000]) {
      const aj = rand(js, count, rng, -3, 3),
        bj = rand(js, count, rng, -3, 3);
      const aw = copy(w, aj),
        bw = copy(w, bj);
      const oj = js.alloc(count),
        ow = w.alloc(count);
      js.multiply(aj, bj, oj, count);
      w.multiply(aw, bw, ow, count);
      expectBitEqual(ow, oj, `multiply ${count}`);
      js.addInto(aj, bj, count);
      w.addInto(aw, bw, count);
      expectBitEqual(aw, aj, `addInto ${count}`);
    }
  });

  wasmIt(
    'losses: sums within 1e-12 relative, correct counts equal (ties → first index), gradients within 1 ulp',
    () => {
      const w = wasm!;
      const rng = new Rng(7, 'kernels-test', 'loss');
      for (const name of ['cross_entropy', 'mse'] as LossName[]) {
        for (const classes of [1, 2, 7, 10]) {
          const rows = 17;
          const lj = rand(js, rows * classes, rng, -8, 8);
          // ties: rows 0-3 have their maximum twice
          for (let r = 0; r < 4 && classes > 1; r++) {
            const o = r * classes;
            lj[o + classes - 1] = 9;
            lj[o + (r % (classes - 1))] = 9;
          }
          const labels = Array.from({ length: rows }, (_, r) =>
            r < 4 ? r % Math.max(classes - 1, 1) : rng.int(classes),
          );
          const lw = copy(w, lj);
          const yj = copyInt(js, labels),
            yw = copyInt(w, labels);
          const dj = js.alloc(rows * classes),
            dw = w.alloc(rows * classes);
          const rj = js.loss(name, lj, yj, rows, classes, dj);
          const rw = w.loss(name, lw, yw, rows, classes, dw);
          expect(rw.correct, `${name} correct, ${classes} classes`).toBe(rj.correct);
          expect(Math.abs(rw.lossSum - rj.lossSum)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(rj.lossSum)));
          for (let i = 0; i < rows * classes; i++) {
            if (ulps(dw[i]!, dj[i]!) > 1 && Math.abs(dw[i]! - dj[i]!) > 1e-12) {
              throw new Error(`${name} dlogits[${i}]: ${dw[i]} vs js ${dj[i]}`);
            }
          }
          if (name === 'mse') expectBitEqual(dw, dj, 'mse dlogits');
          const nj = js.loss(name, lj, yj, rows, classes, null);
          const nw = w.loss(name, lw, yw, rows, classes, null);
          expect(nw).toEqual(rw);
          expect(nj).toEqual(rj);
        }
      }
      // no correct predictions at all: the count is reset per call
      const lw = copy(w, [0, 1, 0, 1]);
      expect(w.loss('cross_entropy', lw, copyInt(w, [0, 0]), 2, 2, null).correct).toBe(0);
    },
  );

  const RULES: UpdateRule[] = ['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adadelta', 'adam', 'nadam'];

  wasmIt('every optimizer rule bitwise equal to js over several steps', () => {
    const w = wasm!;
    const rng = new Rng(8, 'kernels-test', 'update');
    const count = 1001; // odd: the single-element tail too
    for (const rule of RULES) {
      const pj = rand(js, count, rng),
        s1j = js.alloc(count),
        s2j = js.alloc(count);
      const pw = copy(w, pj),
        s1w = w.alloc(count),
        s2w = w.alloc(count);
      const b1 = 0.9,
        b2 = 0.999,
        lr = 0.01,
        psi = 0.004;
      let muProduct = 1;
      for (let t = 1; t <= 5; t++) {
        const gj = rand(js, count, rng, -2, 2),
          gw = copy(w, gj);
        const mu = b1 * (1 - 0.5 * 0.96 ** (t * psi));
        const muNext = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi));
        muProduct *= mu;
        const k: UpdateScalars = {
          lr,
          momentum: 0.9,
          beta1: b1,
          beta2: b2,
          eps: rule === 'adadelta' ? 1e-6 : 1e-8,
          alpha: 0.99,
          rho: 0.9,
          bc1: 1 - b1 ** t,
          bc2: 1 - b2 ** t,
          cGrad: (lr * (1 - mu)) / (1 - muProduct),
          cAvg: (lr * muNext) / (1 - muProduct * muNext),
        };
        js.update(rule, pj, gj, s1j, s2j, count, k);
        w.update(rule, pw, gw, s1w, s2w, count, k);
        expectBitEqual(pw, pj, `${rule} p, step ${t}`);
        expectBitEqual(s1w, s1j, `${rule} s1, step ${t}`);
        expectBitEqual(s2w, s2j, `${rule} s2, step ${t}`);
      }
    }
  });
});

describe('wasm-simd kernels: BatchNorm bitwise equal to js', () => {
  const ROWS = [1, 3, 16, 17];
  const WIDTHS = [1, 3, 128, 256, 257];
  const EPS = 1e-5;

  /** index of the first float64 whose bits differ, or -1 */
  function firstBitDiff64(a: Float64Array, b: Float64Array, count: number): number {
    const ua = new BigUint64Array(a.buffer, a.byteOffset, count);
    const ub = new BigUint64Array(b.buffer, b.byteOffset, count);
    for (let i = 0; i < count; i++) if (ua[i] !== ub[i]) return i;
    return -1;
  }

  function expectBitEqual64(a: Float64Array, b: Float64Array, what: string, count = a.length): void {
    if (a.length < count || b.length < count)
      throw new Error(`${what}: ${a.length} / ${b.length} values, expected ${count}`);
    const i = firstBitDiff64(a, b, count);
    if (i >= 0) throw new Error(`${what}: element ${i} differs: ${a[i]} vs ${b[i]}`);
  }

  function copy64(k: Kernels, src: ArrayLike<number>): Float64Array {
    const a = k.allocF64(src.length);
    a.set(src);
    return a;
  }

  /** rows × F values with a spread of scales per feature, a few -0 and +0 (a sum must start
   *  from +0: -0 + -0 would keep the sign) */
  function features(rows: number, F: number, rng: Rng): Float32Array {
    const a = js.alloc(rows * F);
    for (let f = 0; f < F; f++) {
      const scale = 2 ** rng.range(-6, 6),
        shift = rng.range(-3, 3) * scale;
      for (let r = 0; r < rows; r++)
        a[r * F + f] = f % 7 === 5 ? -0 : f % 7 === 6 && r === 0 ? 0 : rng.normal() * scale + shift;
    }
    return a;
  }

  wasmIt('every BN kernel over rows {1,3,16,17} × F {1,3,128,256,257}, on aligned and unaligned views', () => {
    const w = wasm!;
    const rng = new Rng(10, 'kernels-test', 'batchnorm');
    for (const rows of ROWS) {
      for (const F of WIDTHS) {
        for (const shift of [0, 1]) {
          // shift 1: every array starts one element into its allocation (not 16-byte aligned)
          const at = <T extends Float32Array | Float64Array>(a: T): T => a.subarray(shift) as T;
          const in32 = (k: Kernels, src: Float32Array): Float32Array => {
            const a = at(k.alloc(src.length + shift));
            a.set(src);
            return a;
          };
          const in64 = (k: Kernels, src: ArrayLike<number>): Float64Array => {
            const a = at(k.allocF64(src.length + shift));
            a.set(src);
            return a;
          };
          const out32 = (k: Kernels, n: number): Float32Array => at(k.alloc(n + shift));
          const out64 = (k: Kernels, n: number): Float64Array => at(k.allocF64(n + shift));
          const what = `rows ${rows}, F ${F}${shift ? ', unaligned' : ''}`;
          const x = features(rows, F, rng),
            dy = features(rows, F, rng);
          const gb = js.alloc(2 * F),
            running = js.alloc(2 * F),
            g0 = js.alloc(2 * F);
          for (let f = 0; f < F; f++) {
            gb[f] = rng.range(0.2, 2);
            gb[F + f] = rng.range(-1, 1);
            running[f] = rng.normal();
            running[F + f] = f % 5 === 0 ? 0 : rng.range(0.01, 4);
            g0[f] = rng.normal();
            g0[F + f] = rng.normal();
          }
          const xw = in32(w, x),
            dyw = in32(w, dy),
            gbw = in32(w, gb),
            rw = in32(w, running);

          // partialStats
          const sj = js.allocF64(1 + 2 * F),
            sw = out64(w, 1 + 2 * F);
          sw.fill(123); // replaced entirely
          js.bnPartialStats(x, rows, F, sj);
          w.bnPartialStats(xw, rows, F, sw);
          expectBitEqual64(sw, sj, `bnPartialStats ${what}`, 1 + 2 * F);

          // applyStats with these statistics and with a global batch of another size
          for (const n of [rows, rows * 7 + 2]) {
            const stats = Float64Array.from(sj);
            stats[0] = n;
            const invj = js.allocF64(F),
              xhj = js.alloc(rows * F),
              yj = js.alloc(rows * F);
            const invw = out64(w, F),
              xhw = out32(w, rows * F),
              yw = out32(w, rows * F);
            js.bnApplyStats(x, rows, F, stats, gb, EPS, invj, xhj, yj);
            w.bnApplyStats(xw, rows, F, in64(w, stats), gbw, EPS, invw, xhw, yw);
            expectBitEqual64(invw, invj, `bnApplyStats invStd, n ${n}, ${what}`, F);
            expectBitEqual(xhw, xhj, `bnApplyStats xhat, n ${n}, ${what}`, rows * F);
            expectBitEqual(yw, yj, `bnApplyStats y, n ${n}, ${what}`, rows * F);

            // partialGradSums: the sums replace garbage, dγ/dβ accumulate onto g0
            const sumsj = js.allocF64(2 * F),
              gj = copy(js, g0);
            const sumsw = out64(w, 2 * F),
              gw = in32(w, g0);
            sumsw.fill(-7);
            js.bnPartialGradSums(dy, xhj, rows, F, sumsj, gj);
            w.bnPartialGradSums(dyw, xhw, rows, F, sumsw, gw);
            expectBitEqual64(sumsw, sumsj, `bnPartialGradSums sums, ${what}`, 2 * F);
            expectBitEqual(gw, gj, `bnPartialGradSums dγ dβ, ${what}`, 2 * F);

            // applyGradSums with these sums and with sums of a larger batch
            for (const [label, sums, N] of [
              ['own', sumsj, rows],
              ['global', sumsj.map((v, i) => v * 3.7 + (i % 3) - 1), n],
            ] as const) {
              const dxj = js.alloc(rows * F),
                dxw = out32(w, rows * F);
              js.bnApplyGradSums(dy, xhj, rows, F, gb, invj, sums, N, dxj);
              w.bnApplyGradSums(dyw, xhw, rows, F, gbw, invw, in64(w, sums), N, dxw);
              expectBitEqual(dxw, dxj, `bnApplyGradSums (${label} sums) dx, ${what}`, rows * F);
            }
          }

          // eval mode: forward with the running statistics, backward as constants
          const invj = js.allocF64(F),
            xhj = js.alloc(rows * F),
            yj = js.alloc(rows * F);
          const invw = out64(w, F),
            xhw = out32(w, rows * F),
            yw = out32(w, rows * F);
          js.bnForwardEval(x, rows, F, running, gb, EPS, invj, xhj, yj);
          w.bnForwardEval(xw, rows, F, rw, gbw, EPS, invw, xhw, yw);
          expectBitEqual64(invw, invj, `bnForwardEval invStd, ${what}`, F);
          expectBitEqual(xhw, xhj, `bnForwardEval xhat, ${what}`, rows * F);
          expectBitEqual(yw, yj, `bnForwardEval y, ${what}`, rows * F);
          const dxj = js.alloc(rows * F),
            dxw = out32(w, rows * F);
          js.bnBackwardEval(dy, rows, F, gb, invj, dxj);
          w.bnBackwardEval(dyw, rows, F, gbw, invw, dxw);
          expectBitEqual(dxw, dxj, `bnBackwardEval dx, ${what}`, rows * F);

          // running statistics: n > 1 (unbiased variance) and n = 1 (M2 as is)
          for (const [n, m] of [
            [rows * 4 + 1, 0.1],
            [1, 0.3],
          ] as const) {
            const stats = Float64Array.from(sj);
            stats[0] = n;
            const bj = copy(js, running),
              bw = in32(w, running);
            js.bnUpdateRunning(bj, stats, F, m);
            w.bnUpdateRunning(bw, in64(w, stats), F, m);
            expectBitEqual(bw, bj, `bnUpdateRunning n ${n}, ${what}`, 2 * F);
          }
        }
      }
    }
  });

  wasmIt('no rows: the statistics are [0, NaN…, 0…] and the sums zero, as in js', () => {
    const w = wasm!;
    for (const F of [3, 8]) {
      const sj = js.allocF64(1 + 2 * F),
        sw = w.allocF64(1 + 2 * F);
      js.bnPartialStats(js.alloc(0), 0, F, sj);
      w.bnPartialStats(w.alloc(0), 0, F, sw);
      expectBitEqual64(sw, sj, `bnPartialStats of 0 rows, F ${F}`);
      expect(sw[0]).toBe(0);
      expect(Number.isNaN(sw[1])).toBe(true);
      expect(sw[1 + F]).toBe(0);
      const sumsw = copy64(w, new Array(2 * F).fill(5));
      w.bnPartialGradSums(w.alloc(0), w.alloc(0), 0, F, sumsw, w.alloc(2 * F));
      expect(Array.from(sumsw)).toEqual(new Array(2 * F).fill(0));
    }
  });

  wasmIt('BN kernels refuse arrays from elsewhere and short ones, naming them', () => {
    const w = createWasmKernels()!;
    const F = 4,
      rows = 2;
    const x = w.alloc(rows * F),
      stats = w.allocF64(1 + 2 * F),
      gb = w.alloc(2 * F),
      inv = w.allocF64(F);
    const xh = w.alloc(rows * F),
      y = w.alloc(rows * F);
    w.bnApplyStats(x, rows, F, stats, gb, EPS, inv, xh, y);
    expect(() => w.bnPartialStats(x, rows, F, new Float64Array(1 + 2 * F))).toThrow(
      /bnPartialStats: out is not a view/,
    );
    expect(() => w.bnApplyStats(x, rows, F, new Float64Array(1 + 2 * F), gb, EPS, inv, xh, y)).toThrow(
      /bnApplyStats: stats is not a view/,
    );
    expect(() => w.bnApplyStats(x, rows, F, stats.subarray(1), gb, EPS, inv, xh, y)).toThrow(
      /bnApplyStats: stats has 8 values, the call needs 9/,
    );
    expect(() => w.bnPartialGradSums(x, xh, rows, F, w.allocF64(2 * F - 1), gb)).toThrow(
      /bnPartialGradSums: sums has 7 values/,
    );
    expect(() => w.bnUpdateRunning(gb, stats, -1, 0.1)).toThrow(/bnUpdateRunning: sizes must be integers ≥ 0/);
  });
});

describe('wasm-simd kernels: memory', () => {
  wasmIt('alloc views share one buffer, are 16-byte aligned, zeroed and do not overlap', () => {
    const w = createWasmKernels()!;
    const views = [
      w.alloc(3),
      w.allocInt32(5),
      w.alloc(0),
      w.allocF64(3),
      w.alloc(1000),
      w.allocInt32(1),
      w.allocF64(1),
      w.alloc(7),
    ];
    const buffer = views[0]!.buffer;
    let end = 0;
    for (const v of views) {
      // identity checks as booleans: matchers on two 1 GiB buffers would compare their bytes
      expect(v.buffer === buffer).toBe(true);
      expect(v.byteOffset % 16).toBe(0);
      expect(v.byteOffset).toBeGreaterThanOrEqual(end);
      end = v.byteOffset + v.byteLength;
      expect(Array.from(v).every((x) => x === 0)).toBe(true);
    }
    // two instances have separate memories
    expect(createWasmKernels()!.alloc(1).buffer === buffer).toBe(false);
  });

  wasmIt('an array from elsewhere is refused, naming the argument', () => {
    const w = createWasmKernels()!;
    const other = createWasmKernels()!;
    // rows 2, n 3, m 2
    const x = w.alloc(6),
      W = w.alloc(6),
      b = w.alloc(2),
      y = w.alloc(4);
    w.denseForward(x, W, b, y, 2, 3, 2);
    expect(() => w.denseForward(new Float32Array(6), W, b, y, 2, 3, 2)).toThrow(/denseForward: x is not a view/);
    expect(() => w.denseForward(x, W, b, other.alloc(4), 2, 3, 2)).toThrow(/denseForward: y is not a view/);
    expect(() => w.denseDx(y, js.alloc(6), x, 2, 3, 2)).toThrow(/denseDx: W is not a view/);
    expect(() => w.addInto(x, new Float32Array(6), 6)).toThrow(/addInto: right is not a view/);
    expect(() => w.update('adam', x, W, y, new Float32Array(6), 3, {} as UpdateScalars)).toThrow(
      /update\(adam\): s2 is not a view/,
    );
    // too short for the call
    expect(() => w.denseForward(x, W, b, y, 3, 3, 2)).toThrow(/denseForward: x has 6 values, the call needs 9/);
    expect(() => w.multiply(x, W, y, 7)).toThrow(/multiply: a has 6 values/);
    // sizes the module would read as huge unsigned values, and unknown names
    expect(() => w.denseForward(x, W, b, y, -1, -3, 2)).toThrow(/denseForward: sizes must be integers ≥ 0/);
    expect(() => w.addInto(x, W, 2.5)).toThrow(/addInto: sizes must be integers/);
    expect(() => w.activationForward('swish' as ActivationName, x, y, 4)).toThrow(/unknown name "swish"/);
    expect(() => w.update('lion' as UpdateRule, x, W, y, b, 2, {} as UpdateScalars)).toThrow(/unknown name "lion"/);
    // a subarray of this memory is accepted (and still checked for length on later calls)
    w.addInto(x.subarray(2), W.subarray(2), 4);
    expect(() => w.addInto(x.subarray(2), W.subarray(2), 5)).toThrow(/left has 4 values, the call needs 5/);
  });

  wasmIt('exhaustion says how much was asked, the limit and the variable that raises it', () => {
    const saved = process.env.GRADWIRE_KERNEL_MEMORY_MB;
    process.env.GRADWIRE_KERNEL_MEMORY_MB = '2';
    try {
      const w = createWasmKernels()!;
      expect(w.alloc(1000).length).toBe(1000);
      expect(() => w.alloc(1_000_000)).toThrow(
        /alloc\(1000000\) asks for 3\.8 MiB .* the 2 MiB limit .*GRADWIRE_KERNEL_MEMORY_MB/,
      );
      expect(w.alloc(10).length).toBe(10); // a failed request takes nothing
      process.env.GRADWIRE_KERNEL_MEMORY_MB = 'lots';
      expect(() => createWasmKernels()).toThrow(/GRADWIRE_KERNEL_MEMORY_MB="lots"/);
    } finally {
      if (saved === undefined) delete process.env.GRADWIRE_KERNEL_MEMORY_MB;
      else process.env.GRADWIRE_KERNEL_MEMORY_MB = saved;
    }
  });
});

describe('wasm-simd kernels: engines without SIMD', () => {
  it('createWasmKernels() returns null where WebAssembly SIMD is unavailable (V8 without SSE4.1)', () => {
    const wasmTs = fileURLToPath(new URL('../../shared/kernels/wasm.ts', import.meta.url));
    const loaderTs = fileURLToPath(new URL('../../shared/node/kernels-wasm.ts', import.meta.url));
    const code =
      `import { createWasmKernels } from ${JSON.stringify(pathToFileURL(wasmTs).href)};\n` +
      `import ${JSON.stringify(pathToFileURL(loaderTs).href)};\n` +
      'process.stdout.write(String(createWasmKernels()));';
    const run = spawnSync(
      process.execPath,
      ['--no-enable-sse4-1', '--import', 'tsx', '--input-type=module', '-e', code],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('null');
  });
});

// Central finite differences of L = Σ c·y, y = denseForward(x, W, b): ∂L/∂W = denseGrads,
// ∂L/∂x = denseDx with dy = c. L is linear in each of W, x and b, so the difference quotient
// is exact up to the float32 rounding of y; tolerance 1e-3 relative + 1e-4.
describe.each([
  ['js', js],
  ['wasm-simd', wasm],
] as Array<[string, Kernels | null]>)('%s kernels: finite-difference check of the dense products', (label, k) => {
  (k ? it : it.skip)(`${label}: denseGrads and denseDx match (L(θ+h) − L(θ−h)) / 2h`, () => {
    const K = k!;
    const rng = new Rng(9, 'kernels-test', 'fd', label);
    const rows = 3,
      n = 5,
      m = 4,
      h = 0.25;
    const x = rand(K, rows * n, rng),
      W = rand(K, m * n, rng),
      b = rand(K, m, rng),
      c = rand(K, rows * m, rng);
    const y = K.alloc(rows * m);
    const L = (): number => {
      K.denseForward(x, W, b, y, rows, n, m);
      let s = 0;
      for (let i = 0; i < rows * m; i++) s += c[i]! * y[i]!;
      return s;
    };
    const numeric = (a: Float32Array, i: number): number => {
      const v = a[i]!;
      a[i] = v + h;
      const up = L();
      a[i] = v - h;
      const down = L();
      a[i] = v;
      return (up - down) / (2 * h);
    };
    const close = (analytic: number, num: number, what: string): void => {
      if (!(Math.abs(analytic - num) <= 1e-3 * Math.abs(num) + 1e-4))
        throw new Error(`${label} ${what}: analytic ${analytic}, numeric ${num}`);
    };
    const gW = K.alloc(m * n),
      gb = K.alloc(m),
      dx = K.alloc(rows * n);
    K.denseGrads(x, c, gW, gb, rows, n, m);
    K.denseDx(c, W, dx, rows, n, m);
    for (let i = 0; i < m * n; i++) close(gW[i]!, numeric(W, i), `gW[${i}]`);
    for (let i = 0; i < m; i++) close(gb[i]!, numeric(b, i), `gb[${i}]`);
    for (let i = 0; i < rows * n; i++) close(dx[i]!, numeric(x, i), `dx[${i}]`);
  });
});
