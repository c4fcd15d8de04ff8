// Elementwise activations: value and derivative with respect to the input.
// Formulas follow torch.nn (leaky_relu slope 0.01, elu α=1, selu's λ/α from Klambauer et al.
// 2017, gelu exact with erf, softplus β=1, silu = x·σ(x)).
import type { ActivationName } from '../config-types.js';

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;
const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;
const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** erf to ~1e-15 in float64: Maclaurin series for |x| < 2.5, Lentz's continued fraction
 *  for erfc beyond (where the series would lose digits to cancellation). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  if (ax > 6) return x > 0 ? 1 : -1;
  // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
  const tiny = 1e-300;
  let f = ax;
  let c = ax;
  let d = 0;
  for (let k = 1; k < 200; k++) {
    const a = k / 2;
    d = ax + a * d;
    d = d === 0 ? tiny : 1 / d;
    c = ax + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  return x > 0 ? 1 - erfc : erfc - 1;
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** y = f(x) for each element of x[0..n) */
export function activationForward(name: ActivationName, x: Float32Array, y: Float32Array, n: number): void {
  switch (name) {
    case 'relu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = Math.max(v, 0);
      }
      return;
    case 'leaky_relu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = v > 0 ? v : 0.01 * v;
      }
      return;
    case 'elu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = v > 0 ? v : Math.expm1(v);
      }
      return;
    case 'selu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = SELU_SCALE * (v > 0 ? v : SELU_ALPHA * Math.expm1(v));
      }
      return;
    case 'gelu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = 0.5 * v * (1 + erf(v * INV_SQRT2));
      }
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) y[i] = sigmoid(x[i]!);
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]!);
      return;
    case 'softplus':
      // log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable for large |x|
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
      }
      return;
    case 'silu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        y[i] = v * sigmoid(v);
      }
      return;
  }
}

/** dx = dy · f'(x), element by element (x is the activation's input, y its output) */
export function activationBackward(
  name: ActivationName,
  x: Float32Array,
  y: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  n: number,
): void {
  switch (name) {
    case 'relu':
      for (let i = 0; i < n; i++) dx[i] = x[i]! > 0 ? dy[i]! : 0;
      return;
    case 'leaky_relu':
      for (let i = 0; i < n; i++) dx[i] = x[i]! > 0 ? dy[i]! : 0.01 * dy[i]!;
      return;
    case 'elu':
      // d/dx (e^x - 1) = e^x = y + 1 for x ≤ 0
      for (let i = 0; i < n; i++) dx[i] = x[i]! > 0 ? dy[i]! : dy[i]! * Math.exp(x[i]!);
      return;
    case 'selu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        dx[i] = dy[i]! * SELU_SCALE * (v > 0 ? 1 : SELU_ALPHA * Math.exp(v));
      }
      return;
    case 'gelu':
      // d/dx x·Φ(x) = Φ(x) + x·φ(x)
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        const cdf = 0.5 * (1 + erf(v * INV_SQRT2));
        const pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v);
        dx[i] = dy[i]! * (cdf + v * pdf);
      }
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) {
        const s = y[i]!;
        dx[i] = dy[i]! * s * (1 - s);
      }
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) {
        const t = y[i]!;
        dx[i] = dy[i]! * (1 - t * t);
      }
      return;
    case 'softplus':
      for (let i = 0; i < n; i++) dx[i] = dy[i]! * sigmoid(x[i]!);
      return;
    case 'silu':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        const s = sigmoid(v);
        dx[i] = dy[i]! * (s + v * s * (1 - s));
      }
      return;
  }
}
