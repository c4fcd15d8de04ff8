// The `js` kernel variant: plain TypeScript, float64 arithmetic per element stored as
// float32. The fallback where WebAssembly SIMD is unavailable and the reference the wasm-simd
// variant is tested against. Memory is ordinary typed arrays.
import type { ActivationName } from '../config-types.js';
import { hashUniformFrom } from '../rng.js';
import { activationBackward, activationForward } from '../nn/activations.js';
import { lossForward } from '../nn/loss.js';
import { SPARSE_PANEL, sparsePanels } from './panels.js';
import type { Kernels, UpdateRule, UpdateScalars } from './kernels.js';

function denseForward(
  x: Float32Array,
  p: Float32Array,
  b: Float32Array,
  y: Float32Array,
  rows: number,
  n: number,
  m: number,
): void {
  // four output units share each load of x; each output is one dot product over k ascending
  for (let r = 0; r < rows; r++) {
    const xo = r * n;
    const yo = r * m;
    let j = 0;
    for (; j + 4 <= m; j += 4) {
      const w0 = j * n,
        w1 = w0 + n,
        w2 = w1 + n,
        w3 = w2 + n;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let k = 0; k < n; k++) {
        const xv = x[xo + k]!;
        s0 += xv * p[w0 + k]!;
        s1 += xv * p[w1 + k]!;
        s2 += xv * p[w2 + k]!;
        s3 += xv * p[w3 + k]!;
      }
      y[yo + j] = s0 + b[j]!;
      y[yo + j + 1] = s1 + b[j + 1]!;
      y[yo + j + 2] = s2 + b[j + 2]!;
      y[yo + j + 3] = s3 + b[j + 3]!;
    }
    for (; j < m; j++) {
      const w0 = j * n;
      let s = 0;
      for (let k = 0; k < n; k++) s += x[xo + k]! * p[w0 + k]!;
      y[yo + j] = s + b[j]!;
    }
  }
}

function denseGrads(
  x: Float32Array,
  dy: Float32Array,
  gW: Float32Array,
  gb: Float32Array,
  rows: number,
  n: number,
  m: number,
  accumulate = true,
): void {
  if (!accumulate) {
    gW.fill(0, 0, m * n);
    gb.fill(0, 0, m);
  }
  for (let r = 0; r < rows; r++) {
    const xo = r * n;
    const yo = r * m;
    for (let j = 0; j < m; j++) {
      const g = dy[yo + j]!;
      if (g === 0) continue;
      gb[j]! += g;
      const wo = j * n;
      for (let k = 0; k < n; k++) gW[wo + k]! += g * x[xo + k]!;
    }
  }
}

/** denseForward's sums (k ascending, in float64 from 0) over the nonzero x[r,k] only, from W in
 *  column panels (panels.ts): a skipped term is ±0 and s + ±0 = s (s is never −0), so the bits
 *  are denseForward's */
let sparseSums = new Float64Array(0);
function denseForwardSparse(
  x: Float32Array,
  wp: Float32Array,
  b: Float32Array,
  y: Float32Array,
  idx: Int32Array,
  rows: number,
  n: number,
  m: number,
): void {
  if (sparseSums.length < m) sparseSums = new Float64Array(m);
  const s = sparseSums;
  for (let r = 0; r < rows; r++) {
    const xo = r * n;
    let nz = 0;
    for (let k = 0; k < n; k++) if (x[xo + k] !== 0) idx[nz++] = k;
    s.fill(0, 0, m);
    for (let j0 = 0; j0 < m; j0 += SPARSE_PANEL) {
      const w = Math.min(SPARSE_PANEL, m - j0);
      for (let t = 0; t < nz; t++) {
        const k = idx[t]!;
        const xv = x[xo + k]!;
        const o = j0 * n + k * w - j0;
        for (let j = j0; j < j0 + w; j++) s[j]! += xv * wp[o + j]!;
      }
    }
    const yo = r * m;
    for (let j = 0; j < m; j++) y[yo + j] = s[j]! + b[j]!;
  }
}

function countNonzero(x: Float32Array, count: number): number {
  let c = 0;
  for (let i = 0; i < count; i++) if (x[i] !== 0) c++;
  return c;
}

function denseDx(dy: Float32Array, p: Float32Array, dx: Float32Array, rows: number, n: number, m: number): void {
  dx.fill(0, 0, rows * n);
  for (let r = 0; r < rows; r++) {
    const xo = r * n;
    const yo = r * m;
    for (let j = 0; j < m; j++) {
      const g = dy[yo + j]!;
      if (g === 0) continue;
      const wo = j * n;
      for (let k = 0; k < n; k++) dx[xo + k]! += g * p[wo + k]!;
    }
  }
}

// Optimizer rules (formulas and conventions: shared/optim/optimizers.ts). s1, s2 are the
// rule's state slots in SLOT_NAMES order.
function update(
  rule: UpdateRule,
  p: Float32Array,
  g: Float32Array,
  s1: Float32Array,
  s2: Float32Array,
  count: number,
  c: UpdateScalars,
): void {
  const { lr, eps } = c;
  switch (rule) {
    case 'sgd':
      for (let i = 0; i < count; i++) p[i] = p[i]! - lr * g[i]!;
      return;
    case 'momentum':
    case 'nesterov': {
      const mu = c.momentum;
      const nesterov = rule === 'nesterov';
      for (let i = 0; i < count; i++) {
        const v = mu * s1[i]! + g[i]!;
        s1[i] = v;
        p[i] = p[i]! - lr * (nesterov ? g[i]! + mu * v : v);
      }
      return;
    }
    case 'adagrad':
      for (let i = 0; i < count; i++) {
        const G = s1[i]! + g[i]! * g[i]!;
        s1[i] = G;
        p[i] = p[i]! - (lr * g[i]!) / (Math.sqrt(G) + eps);
      }
      return;
    case 'rmsprop': {
      const a = c.alpha;
      for (let i = 0; i < count; i++) {
        const s = a * s1[i]! + (1 - a) * g[i]! * g[i]!;
        s1[i] = s;
        p[i] = p[i]! - (lr * g[i]!) / (Math.sqrt(s) + eps);
      }
      return;
    }
    case 'adadelta': {
      const rho = c.rho;
      for (let i = 0; i < count; i++) {
        const s = rho * s1[i]! + (1 - rho) * g[i]! * g[i]!;
        s1[i] = s;
        const delta = (Math.sqrt(s2[i]! + eps) / Math.sqrt(s + eps)) * g[i]!;
        s2[i] = rho * s2[i]! + (1 - rho) * delta * delta;
        p[i] = p[i]! - lr * delta;
      }
      return;
    }
    case 'adam': {
      const { beta1: b1, beta2: b2, bc1, bc2 } = c;
      for (let i = 0; i < count; i++) {
        const mi = b1 * s1[i]! + (1 - b1) * g[i]!;
        const vi = b2 * s2[i]! + (1 - b2) * g[i]! * g[i]!;
        s1[i] = mi;
        s2[i] = vi;
        p[i] = p[i]! - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
      }
      return;
    }
    case 'nadam': {
      const { beta1: b1, beta2: b2, bc2, cGrad, cAvg } = c;
      for (let i = 0; i < count; i++) {
        const mi = b1 * s1[i]! + (1 - b1) * g[i]!;
        const vi = b2 * s2[i]! + (1 - b2) * g[i]! * g[i]!;
        s1[i] = mi;
        s2[i] = vi;
        const denom = Math.sqrt(vi / bc2) + eps;
        p[i] = p[i]! - (cGrad * g[i]!) / denom - (cAvg * mi) / denom;
      }
      return;
    }
  }
}

// BatchNorm (shared/nn/norms.ts); the reference for every variant's BN kernels.

function bnPartialStats(x: Float32Array, rows: number, F: number, out: Float64Array): void {
  out[0] = rows;
  out.fill(0, 1, 1 + 2 * F);
  for (let r = 0; r < rows; r++) for (let f = 0; f < F; f++) out[1 + f]! += x[r * F + f]!;
  for (let f = 0; f < F; f++) out[1 + f]! /= rows;
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < F; f++) {
      const d = x[r * F + f]! - out[1 + f]!;
      out[1 + F + f]! += d * d;
    }
  }
}

function bnApplyStats(
  x: Float32Array,
  rows: number,
  F: number,
  stats: Float64Array,
  p: Float32Array,
  eps: number,
  invStd: Float64Array,
  xhat: Float32Array,
  y: Float32Array,
): void {
  const n = stats[0]!;
  for (let f = 0; f < F; f++) invStd[f] = 1 / Math.sqrt(stats[1 + F + f]! / n + eps);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < F; f++) {
      const i = r * F + f;
      const xh = (x[i]! - stats[1 + f]!) * invStd[f]!;
      xhat[i] = xh;
      y[i] = p[f]! * xh + p[F + f]!;
    }
  }
}

function bnForwardEval(
  x: Float32Array,
  rows: number,
  F: number,
  b: Float32Array,
  p: Float32Array,
  eps: number,
  invStd: Float64Array,
  xhat: Float32Array,
  y: Float32Array,
): void {
  for (let f = 0; f < F; f++) invStd[f] = 1 / Math.sqrt(b[F + f]! + eps);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < F; f++) {
      const i = r * F + f;
      const xh = (x[i]! - b[f]!) * invStd[f]!;
      xhat[i] = xh;
      y[i] = p[f]! * xh + p[F + f]!;
    }
  }
}

function bnPartialGradSums(
  dy: Float32Array,
  xhat: Float32Array,
  rows: number,
  F: number,
  sums: Float64Array,
  g: Float32Array,
): void {
  sums.fill(0, 0, 2 * F);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < F; f++) {
      const d = dy[r * F + f]!;
      sums[f]! += d;
      sums[F + f]! += d * xhat[r * F + f]!;
    }
  }
  for (let f = 0; f < F; f++) {
    g[f]! += sums[F + f]!;
    g[F + f]! += sums[f]!;
  }
}

function bnApplyGradSums(
  dy: Float32Array,
  xhat: Float32Array,
  rows: number,
  F: number,
  p: Float32Array,
  invStd: Float64Array,
  sums: Float64Array,
  n: number,
  dx: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < F; f++) {
      const i = r * F + f;
      dx[i] = p[f]! * invStd[f]! * (dy[i]! - sums[f]! / n - (xhat[i]! * sums[F + f]!) / n);
    }
  }
}

function bnBackwardEval(
  dy: Float32Array,
  rows: number,
  F: number,
  p: Float32Array,
  invStd: Float64Array,
  dx: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < F; f++) {
      const i = r * F + f;
      dx[i] = p[f]! * invStd[f]! * dy[i]!;
    }
  }
}

function bnUpdateRunning(b: Float32Array, stats: Float64Array, F: number, momentum: number): void {
  const n = stats[0]!;
  for (let f = 0; f < F; f++) {
    b[f] = (1 - momentum) * b[f]! + momentum * stats[1 + f]!;
    const unbiased = n > 1 ? stats[1 + F + f]! / (n - 1) : stats[1 + F + f]!;
    b[F + f] = (1 - momentum) * b[F + f]! + momentum * unbiased;
  }
}

export function createJsKernels(): Kernels {
  return {
    variant: 'js',
    alloc: (n) => new Float32Array(n),
    allocInt32: (n) => new Int32Array(n),
    allocF64: (n) => new Float64Array(n),
    allocBytes: (n) => new Uint8Array(n),
    owns: () => true,
    denseForward,
    denseGrads,
    denseDx,
    denseForwardSparse,
    countNonzero,
    denseForwardSparseBytes(bytes, table, Wp, b, y, idx, rows, n, m) {
      const x = new Float32Array(rows * n);
      for (let i = 0; i < x.length; i++) x[i] = table[bytes[i]!]!;
      denseForwardSparse(x, Wp, b, y, idx, rows, n, m);
    },
    countNonzeroBytes(bytes, count) {
      let c = 0;
      for (let i = 0; i < count; i++) if (bytes[i] !== 0) c++;
      return c;
    },
    sparsePanels(W, Wp, n, m) {
      for (let i = 0; i < m * n; i++) if (!Number.isFinite(W[i]!)) return false;
      sparsePanels(W, n, m, Wp);
      return true;
    },
    unitBytes(bytes, x, count) {
      for (let i = 0; i < count; i++) x[i] = bytes[i]! / 255;
    },
    formatRows: () => -1,
    activationForward: (name: ActivationName, x, y, count) => activationForward(name, x, y, count),
    activationBackward: (name: ActivationName, x, y, dy, dx, count) => activationBackward(name, x, y, dy, dx, count),
    dropoutForward(x, y, scale, prefixes, rows, width, rate, keepScale) {
      for (let r = 0; r < rows; r++) {
        const prefix = prefixes[r]!;
        const o = r * width;
        for (let u = 0; u < width; u++) {
          const s = hashUniformFrom(prefix, u) >= rate ? keepScale : 0;
          scale[o + u] = s;
          y[o + u] = x[o + u]! * s;
        }
      }
    },
    multiply(a, b, out, count) {
      for (let i = 0; i < count; i++) out[i] = a[i]! * b[i]!;
    },
    loss: lossForward,
    addInto(left, right, count) {
      for (let i = 0; i < count; i++) left[i]! += right[i]!;
    },
    meanGradient(sum, out, rows, count) {
      let finite = true;
      for (let i = 0; i < count; i++) {
        const v = sum[i]! / rows;
        out[i] = v;
        if (!Number.isFinite(v)) finite = false;
      }
      return finite;
    },
    sumSquares(g, count) {
      let s = 0;
      for (let i = 0; i < count; i++) s += g[i]! * g[i]!;
      return s;
    },
    update,
    bnPartialStats,
    bnApplyStats,
    bnForwardEval,
    bnPartialGradSums,
    bnApplyGradSums,
    bnBackwardEval,
    bnUpdateRunning,
  };
}

/** One shared js instance: its alloc is plain typed arrays, so sharing costs nothing. */
export const JS_KERNELS: Kernels = createJsKernels();
