// Elementwise activations, forward and backward: the formulas (and branches) of
// shared/nn/activations.ts. relu and leaky_relu in SIMD, bit for bit equal to the js variant
// (leaky's 0.01·v is computed in f64 and rounded once to f32, as a Float32Array store does);
// the others element by element in f64 with AssemblyScript's Math.
//
// Activation ids (the order of ACTIVATIONS in shared/config-types.ts):
//   0 relu, 1 leaky_relu, 2 elu, 3 selu, 4 gelu, 5 sigmoid, 6 tanh, 7 softplus, 8 silu

const SELU_ALPHA: f64 = 1.6732632423543772848170429916717;
const SELU_SCALE: f64 = 1.0507009873554804934193349852946;
const INV_SQRT2: f64 = 0.70710678118654752440;
const INV_SQRT_2PI: f64 = 0.39894228040143267794;
const TWO_OVER_SQRT_PI: f64 = 1.1283791670955125739;
const SQRT_PI: f64 = Math.sqrt(Math.PI); // as the TS source computes it

/** erf as shared/nn/activations.ts: Maclaurin series for |x| < 2.5, Lentz's continued
 *  fraction for erfc beyond */
export function erf(x: f64): f64 {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / <f64>n;
      const add = term / <f64>(2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  if (ax > 6) return x > 0 ? 1 : -1;
  const tiny: f64 = 1e-300;
  let f = ax;
  let c = ax;
  let d: f64 = 0;
  for (let k = 1; k < 200; k++) {
    const a = <f64>k / 2;
    d = ax + a * d;
    d = d == 0 ? tiny : 1 / d;
    c = ax + a / c;
    if (c == 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * SQRT_PI);
  return x > 0 ? 1 - erfc : erfc - 1;
}

@inline function sigmoid(x: f64): f64 {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

@inline function ld(p: usize, i: usize): f64 {
  return <f64>load<f32>(p + (i << 2));
}

@inline function st(p: usize, i: usize, v: f64): void {
  store<f32>(p + (i << 2), <f32>v);
}

/** lanes of a·c computed in f64 and rounded once to f32 */
@inline function mulF64(a: v128, c: v128): v128 {
  const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(a), c));
  const hi = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(f32x4.shuffle(a, a, 2, 3, 2, 3)), c));
  return f32x4.shuffle(lo, hi, 0, 1, 4, 5);
}

export function activationForward(id: i32, x: usize, y: usize, count: i32): void {
  const N = <usize>count;
  const N4 = N & ~3;
  let i: usize = 0;
  switch (id) {
    case 0: { // relu: v > 0 ? v : 0
      const z = f32x4.splat(0);
      for (; i < N4; i += 4) {
        const v = v128.load(x + (i << 2));
        v128.store(y + (i << 2), v128.and(v, f32x4.gt(v, z)));
      }
      for (; i < N; i++) { const v = load<f32>(x + (i << 2)); store<f32>(y + (i << 2), v > 0 ? v : 0); }
      return;
    }
    case 1: { // leaky_relu: v > 0 ? v : 0.01·v
      const z = f32x4.splat(0), c = f64x2.splat(0.01);
      for (; i < N4; i += 4) {
        const v = v128.load(x + (i << 2));
        v128.store(y + (i << 2), v128.bitselect(v, mulF64(v, c), f32x4.gt(v, z)));
      }
      for (; i < N; i++) { const v = ld(x, i); st(y, i, v > 0 ? v : 0.01 * v); }
      return;
    }
    case 2: // elu
      for (; i < N; i++) { const v = ld(x, i); st(y, i, v > 0 ? v : Math.expm1(v)); }
      return;
    case 3: // selu
      for (; i < N; i++) { const v = ld(x, i); st(y, i, SELU_SCALE * (v > 0 ? v : SELU_ALPHA * Math.expm1(v))); }
      return;
    case 4: // gelu (exact)
      for (; i < N; i++) { const v = ld(x, i); st(y, i, 0.5 * v * (1 + erf(v * INV_SQRT2))); }
      return;
    case 5: // sigmoid
      for (; i < N; i++) st(y, i, sigmoid(ld(x, i)));
      return;
    case 6: // tanh
      for (; i < N; i++) st(y, i, Math.tanh(ld(x, i)));
      return;
    case 7: // softplus: max(v, 0) + log1p(e^-|v|)
      for (; i < N; i++) { const v = ld(x, i); st(y, i, (v > 0 ? v : 0) + Math.log1p(Math.exp(-Math.abs(v)))); }
      return;
    case 8: // silu
      for (; i < N; i++) { const v = ld(x, i); st(y, i, v * sigmoid(v)); }
      return;
    default:
      unreachable();
  }
}

export function activationBackward(id: i32, x: usize, y: usize, dy: usize, dx: usize, count: i32): void {
  const N = <usize>count;
  const N4 = N & ~3;
  let i: usize = 0;
  switch (id) {
    case 0: { // relu: x > 0 ? dy : 0
      const z = f32x4.splat(0);
      for (; i < N4; i += 4) {
        const o = i << 2;
        v128.store(dx + o, v128.and(v128.load(dy + o), f32x4.gt(v128.load(x + o), z)));
      }
      for (; i < N; i++) { const o = i << 2; store<f32>(dx + o, load<f32>(x + o) > 0 ? load<f32>(dy + o) : 0); }
      return;
    }
    case 1: { // leaky_relu: x > 0 ? dy : 0.01·dy
      const z = f32x4.splat(0), c = f64x2.splat(0.01);
      for (; i < N4; i += 4) {
        const o = i << 2;
        const g = v128.load(dy + o);
        v128.store(dx + o, v128.bitselect(g, mulF64(g, c), f32x4.gt(v128.load(x + o), z)));
      }
      for (; i < N; i++) { const g = ld(dy, i); st(dx, i, ld(x, i) > 0 ? g : 0.01 * g); }
      return;
    }
    case 2: // elu
      for (; i < N; i++) { const v = ld(x, i); const g = ld(dy, i); st(dx, i, v > 0 ? g : g * Math.exp(v)); }
      return;
    case 3: // selu
      for (; i < N; i++) { const v = ld(x, i); st(dx, i, ld(dy, i) * SELU_SCALE * (v > 0 ? 1 : SELU_ALPHA * Math.exp(v))); }
      return;
    case 4: // gelu: Φ(x) + x·φ(x)
      for (; i < N; i++) {
        const v = ld(x, i);
        const cdf = 0.5 * (1 + erf(v * INV_SQRT2));
        const pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v);
        st(dx, i, ld(dy, i) * (cdf + v * pdf));
      }
      return;
    case 5: // sigmoid, from the output
      for (; i < N; i++) { const s = ld(y, i); st(dx, i, ld(dy, i) * s * (1 - s)); }
      return;
    case 6: // tanh, from the output
      for (; i < N; i++) { const t = ld(y, i); st(dx, i, ld(dy, i) * (1 - t * t)); }
      return;
    case 7: // softplus
      for (; i < N; i++) st(dx, i, ld(dy, i) * sigmoid(ld(x, i)));
      return;
    case 8: // silu
      for (; i < N; i++) {
        const v = ld(x, i);
        const s = sigmoid(v);
        st(dx, i, ld(dy, i) * (s + v * s * (1 - s)));
      }
      return;
    default:
      unreachable();
  }
}
