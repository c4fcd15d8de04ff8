// Dropout, elementwise products and sums, losses and optimizer updates, with the semantics of
// the js variant (shared/kernels/js.ts): bit for bit where the js variant's result is a single
// rounding of an f64 expression of float32 inputs (dropout, multiply, addInto, every update
// rule); the losses use f64 with AssemblyScript's Math (exp/log may differ from V8's in the
// last bit).

// ---------------------------------------------------------------- dropout

// The murmur3 steps of shared/rng.ts (mix, fmix32), four units at a time; i32 lanes wrap
// exactly like Math.imul and `| 0`.
@inline function rotl4(v: v128, s: i32): v128 {
  return v128.or(i32x4.shl(v, s), i32x4.shr_u(v, 32 - s));
}

@inline function mix4(h: v128, k: v128): v128 {
  k = i32x4.mul(k, i32x4.splat(<i32>0xcc9e2d51));
  k = rotl4(k, 15);
  k = i32x4.mul(k, i32x4.splat(<i32>0x1b873593));
  h = v128.xor(h, k);
  h = rotl4(h, 13);
  return i32x4.add(i32x4.mul(h, i32x4.splat(5)), i32x4.splat(<i32>0xe6546b64));
}

@inline function fmix4(h: v128): v128 {
  h = v128.xor(h, i32x4.shr_u(h, 16));
  h = i32x4.mul(h, i32x4.splat(<i32>0x85ebca6b));
  h = v128.xor(h, i32x4.shr_u(h, 13));
  h = i32x4.mul(h, i32x4.splat(<i32>0xc2b2ae35));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

@inline function mix(h: i32, k: i32): i32 {
  k = k * <i32>0xcc9e2d51;
  k = rotl<i32>(k, 15);
  k = k * <i32>0x1b873593;
  h ^= k;
  h = rotl<i32>(h, 13);
  return h * 5 + <i32>0xe6546b64;
}

@inline function fmix(h: i32): i32 {
  h ^= <i32>(<u32>h >> 16);
  h = h * <i32>0x85ebca6b;
  h ^= <i32>(<u32>h >> 13);
  h = h * <i32>0xc2b2ae35;
  h ^= <i32>(<u32>h >> 16);
  return h;
}

/** the 24-bit integer u of hashUniformFrom(prefix, unit) = u / 2^24 */
@inline function hash24(prefix: i32, unit: i32): i32 {
  return <i32>(<u32>fmix(mix(prefix, unit) ^ 20) >> 8);
}

/** y = f32(x·keepScale) computed in f64 (as the js variant's `x * s`) */
@inline function scaleF64(a: v128, c: v128): v128 {
  const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(a), c));
  const hi = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(f32x4.shuffle(a, a, 2, 3, 2, 3)), c));
  return f32x4.shuffle(lo, hi, 0, 1, 4, 5);
}

/** keep unit u of row r iff hashUniformFrom(prefixes[r], u) ≥ rate; scale = keep ? keepScale : 0;
 *  y = x·scale. u/2^24 ≥ rate ⇔ u ≥ ⌈rate·2^24⌉ (u an integer), so the test is on integers. */
export function dropoutForward(x: usize, y: usize, scale: usize, prefixes: usize, rows: i32, width: i32, rate: f64, keepScale: f64): void {
  const t = Math.ceil(rate * 16777216);
  const T: i32 = t <= 0 ? 0 : t <= 16777216 ? <i32>t : 16777217; // NaN: nothing kept, as `u >= NaN`
  const W = <usize>width, W4 = W & ~3;
  const tv = i32x4.splat(T);
  const ks = f64x2.splat(keepScale);
  const ksf = f32x4.splat(<f32>keepScale);
  const ksf1 = <f32>keepScale;
  const zero = f32x4.splat(0);
  const step = i32x4.splat(4);
  for (let r: usize = 0; r < <usize>rows; r++) {
    const prefix = load<i32>(prefixes + (r << 2));
    const pv = i32x4.splat(prefix);
    const o = r * W << 2;
    let uv = i32x4(0, 1, 2, 3);
    let u: usize = 0;
    for (; u < W4; u += 4) {
      const h = i32x4.shr_u(fmix4(v128.xor(mix4(pv, uv), i32x4.splat(20))), 8);
      const keep = i32x4.ge_s(h, tv);
      const p = o + (u << 2);
      const xv = v128.load(x + p);
      v128.store(scale + p, v128.and(ksf, keep));
      v128.store(y + p, v128.bitselect(scaleF64(xv, ks), f32x4.mul(xv, zero), keep));
      uv = i32x4.add(uv, step);
    }
    for (; u < W; u++) {
      const p = o + (u << 2);
      const xv = load<f32>(x + p);
      if (hash24(prefix, <i32>u) >= T) {
        store<f32>(scale + p, ksf1);
        store<f32>(y + p, <f32>(<f64>xv * keepScale));
      } else {
        store<f32>(scale + p, 0);
        store<f32>(y + p, xv * 0);
      }
    }
  }
}

// ---------------------------------------------------------------- multiply, addInto

/** out = a·b (f32; equal to the f64 product rounded once, which is exact before rounding) */
export function multiply(a: usize, b: usize, out: usize, count: i32): void {
  const N = <usize>count << 2, N4 = N & ~15;
  let i: usize = 0;
  for (; i < N4; i += 16) v128.store(out + i, f32x4.mul(v128.load(a + i), v128.load(b + i)));
  for (; i < N; i += 4) store<f32>(out + i, load<f32>(a + i) * load<f32>(b + i));
}

/** left += right (f32) */
export function addInto(left: usize, right: usize, count: i32): void {
  const N = <usize>count << 2, N16 = N & ~63, N4 = N & ~15;
  let i: usize = 0;
  for (; i < N16; i += 64) {
    v128.store(left + i, f32x4.add(v128.load(left + i), v128.load(right + i)));
    v128.store(left + i, f32x4.add(v128.load(left + i, 16), v128.load(right + i, 16)), 16);
    v128.store(left + i, f32x4.add(v128.load(left + i, 32), v128.load(right + i, 32)), 32);
    v128.store(left + i, f32x4.add(v128.load(left + i, 48), v128.load(right + i, 48)), 48);
  }
  for (; i < N4; i += 16) v128.store(left + i, f32x4.add(v128.load(left + i), v128.load(right + i)));
  for (; i < N; i += 4) store<f32>(left + i, load<f32>(left + i) + load<f32>(right + i));
}

/** out[i] = sum[i] / rows (f32 division: the same bits as the js variant's f64 division rounded
 *  to f32); returns 1 when every out[i] is finite, else 0. */
export function meanGradient(sum: usize, out: usize, rows: f32, count: i32): i32 {
  const N = <usize>count << 2, N4 = N & ~15;
  const d = f32x4.splat(rows);
  let bad = f32x4.splat(0); // x - x is 0 for finite x, NaN for ±Inf and NaN
  let i: usize = 0;
  for (; i < N4; i += 16) {
    const q = f32x4.div(v128.load(sum + i), d);
    v128.store(out + i, q);
    bad = f32x4.add(bad, f32x4.sub(q, q));
  }
  let tail: f32 = 0;
  for (; i < N; i += 4) {
    const q = load<f32>(sum + i) / rows;
    store<f32>(out + i, q);
    tail += q - q;
  }
  const ok = f32x4.extract_lane(bad, 0) == 0 && f32x4.extract_lane(bad, 1) == 0 && f32x4.extract_lane(bad, 2) == 0
    && f32x4.extract_lane(bad, 3) == 0 && tail == 0;
  return ok ? 1 : 0;
}

/** Σ g[i]² in f64, i ascending (one accumulator: the js variant's order and bits) */
export function sumSquares(g: usize, count: i32): f64 {
  const N = <usize>count << 2;
  let s: f64 = 0;
  for (let i: usize = 0; i < N; i += 4) {
    const v = <f64>load<f32>(g + i);
    s += v * v;
  }
  return s;
}

// ---------------------------------------------------------------- losses

let correctCount: i32 = 0;

/** the `correct` count of the last loss() call */
export function lossCorrect(): i32 {
  return correctCount;
}

/** Loss sum over rows (returned) and the correct count (lossCorrect()); writes
 *  d(loss sum)/d(logits) into dl when hasD. kind 0: cross_entropy, 1: mse. */
export function loss(kind: i32, logits: usize, labels: usize, rows: i32, classes: i32, dl: usize, hasD: i32): f64 {
  const C = <usize>classes;
  const Cf = <f64>classes;
  let lossSum: f64 = 0;
  let correct: i32 = 0;
  for (let r: usize = 0; r < <usize>rows; r++) {
    const z = logits + r * C * 4;
    const d = dl + r * C * 4;
    const y = load<i32>(labels + (r << 2));
    // argmax, ties to the first index
    let best: usize = 0;
    for (let j: usize = 1; j < C; j++) if (load<f32>(z + (j << 2)) > load<f32>(z + (best << 2))) best = j;
    if (<i32>best == y) correct++;
    if (kind == 0) {
      let mx: f64 = -Infinity;
      for (let j: usize = 0; j < C; j++) mx = Math.max(mx, <f64>load<f32>(z + (j << 2)));
      let s: f64 = 0;
      for (let j: usize = 0; j < C; j++) s += Math.exp(<f64>load<f32>(z + (j << 2)) - mx);
      const lse = mx + Math.log(s);
      const zy: f64 = y >= 0 && y < classes ? <f64>load<f32>(z + (<usize>y << 2)) : NaN;
      lossSum += lse - zy;
      if (hasD) {
        for (let j: usize = 0; j < C; j++) {
          store<f32>(d + (j << 2), <f32>(Math.exp(<f64>load<f32>(z + (j << 2)) - lse) - (<i32>j == y ? 1 : 0)));
        }
      }
    } else {
      let s: f64 = 0;
      for (let j: usize = 0; j < C; j++) {
        const e = <f64>load<f32>(z + (j << 2)) - (<i32>j == y ? 1 : 0);
        s += e * e;
        if (hasD) store<f32>(d + (j << 2), <f32>((2 * e) / Cf));
      }
      lossSum += s / Cf;
    }
  }
  correctCount = correct;
  return lossSum;
}

// ---------------------------------------------------------------- optimizer updates

// f64 arithmetic per element in the operation order of shared/optim/optimizers.ts, two
// elements per f64x2 vector; an odd last element goes through the same code in lane 0 (loaded
// and stored alone). The slots and parameters store f32.

@inline function ld2(p: usize, one: bool): v128 {
  return f64x2.promote_low_f32x4(one ? v128.load32_zero(p) : v128.load64_zero(p));
}

@inline function st2(p: usize, v: v128, one: bool): void {
  const f = f32x4.demote_f64x2_zero(v);
  if (one) v128.store32_lane(p, f, 0);
  else v128.store64_lane(p, f, 0);
}

@inline function add(a: v128, b: v128): v128 { return f64x2.add(a, b); }
@inline function sub(a: v128, b: v128): v128 { return f64x2.sub(a, b); }
@inline function mul(a: v128, b: v128): v128 { return f64x2.mul(a, b); }
@inline function div(a: v128, b: v128): v128 { return f64x2.div(a, b); }
@inline function sqrt(a: v128): v128 { return f64x2.sqrt(a); }

@inline function step(
  rule: i32, one: bool, pp: usize, gp: usize, ap: usize, bp: usize,
  lr: v128, mu: v128, b1: v128, b2: v128, eps: v128, c1: v128, c2: v128, bc1: v128, bc2: v128, cG: v128, cA: v128,
): void {
  const p = ld2(pp, one);
  const g = ld2(gp, one);
  switch (rule) {
    case 0: // sgd: p - lr·g
      st2(pp, sub(p, mul(lr, g)), one);
      return;
    case 1: { // momentum: v = μ·buf + g; p - lr·v
      const v = add(mul(mu, ld2(ap, one)), g);
      st2(ap, v, one);
      st2(pp, sub(p, mul(lr, v)), one);
      return;
    }
    case 2: { // nesterov: v = μ·buf + g; p - lr·(g + μ·v)
      const v = add(mul(mu, ld2(ap, one)), g);
      st2(ap, v, one);
      st2(pp, sub(p, mul(lr, add(g, mul(mu, v)))), one);
      return;
    }
    case 3: { // adagrad: G = sum + g·g; p - (lr·g)/(√G + eps)
      const G = add(ld2(ap, one), mul(g, g));
      st2(ap, G, one);
      st2(pp, sub(p, div(mul(lr, g), add(sqrt(G), eps))), one);
      return;
    }
    case 4: { // rmsprop (c1 = α, c2 = 1 - α): s = α·sq + (1-α)·g·g; p - (lr·g)/(√s + eps)
      const s = add(mul(c1, ld2(ap, one)), mul(mul(c2, g), g));
      st2(ap, s, one);
      st2(pp, sub(p, div(mul(lr, g), add(sqrt(s), eps))), one);
      return;
    }
    case 5: { // adadelta (c1 = ρ, c2 = 1 - ρ)
      const s = add(mul(c1, ld2(ap, one)), mul(mul(c2, g), g));
      st2(ap, s, one);
      const acc = ld2(bp, one);
      const delta = mul(div(sqrt(add(acc, eps)), sqrt(add(s, eps))), g);
      st2(bp, add(mul(c1, acc), mul(mul(c2, delta), delta)), one);
      st2(pp, sub(p, mul(lr, delta)), one);
      return;
    }
    case 6: { // adam (c1 = 1 - β1, c2 = 1 - β2)
      const mi = add(mul(b1, ld2(ap, one)), mul(c1, g));
      const vi = add(mul(b2, ld2(bp, one)), mul(mul(c2, g), g));
      st2(ap, mi, one);
      st2(bp, vi, one);
      st2(pp, sub(p, div(mul(lr, div(mi, bc1)), add(sqrt(div(vi, bc2)), eps))), one);
      return;
    }
    case 7: { // nadam (c1 = 1 - β1, c2 = 1 - β2)
      const mi = add(mul(b1, ld2(ap, one)), mul(c1, g));
      const vi = add(mul(b2, ld2(bp, one)), mul(mul(c2, g), g));
      st2(ap, mi, one);
      st2(bp, vi, one);
      const denom = add(sqrt(div(vi, bc2)), eps);
      st2(pp, sub(sub(p, div(mul(cG, g), denom)), div(mul(cA, mi), denom)), one);
      return;
    }
    default:
      unreachable();
  }
}

@inline function runRule(
  rule: i32, p: usize, g: usize, a: usize, b: usize, count: i32,
  lr: f64, momentum: f64, beta1: f64, beta2: f64, eps: f64, alpha: f64, rho: f64, bc1: f64, bc2: f64, cGrad: f64, cAvg: f64,
): void {
  // the rule's one-minus constants, computed once (the same f64 value the TS source computes
  // per element)
  const k1: f64 = rule == 4 ? alpha : rule == 5 ? rho : 1 - beta1;
  const k2: f64 = rule == 4 ? 1 - alpha : rule == 5 ? 1 - rho : 1 - beta2;
  const vlr = f64x2.splat(lr), vmu = f64x2.splat(momentum), vb1 = f64x2.splat(beta1), vb2 = f64x2.splat(beta2);
  const veps = f64x2.splat(eps), c1 = f64x2.splat(k1), c2 = f64x2.splat(k2);
  const vbc1 = f64x2.splat(bc1), vbc2 = f64x2.splat(bc2), vcG = f64x2.splat(cGrad), vcA = f64x2.splat(cAvg);
  const N = <usize>count << 2, N2 = N & ~7;
  let o: usize = 0;
  for (; o < N2; o += 8) step(rule, false, p + o, g + o, a + o, b + o, vlr, vmu, vb1, vb2, veps, c1, c2, vbc1, vbc2, vcG, vcA);
  if (o < N) step(rule, true, p + o, g + o, a + o, b + o, vlr, vmu, vb1, vb2, veps, c1, c2, vbc1, vbc2, vcG, vcA);
}

/** rule ids: 0 sgd, 1 momentum, 2 nesterov, 3 adagrad, 4 rmsprop, 5 adadelta, 6 adam, 7 nadam;
 *  a, b: the rule's state slots in SLOT_NAMES order */
export function update(
  rule: i32, p: usize, g: usize, a: usize, b: usize, count: i32,
  lr: f64, momentum: f64, beta1: f64, beta2: f64, eps: f64, alpha: f64, rho: f64, bc1: f64, bc2: f64, cGrad: f64, cAvg: f64,
): void {
  // one loop per rule, so the switch is resolved outside the loop
  switch (rule) {
    case 0: runRule(0, p, g, a, b, count, lr, momentum, beta1, beta2, eps, alpha, rho, bc1, bc2, cGrad, cAvg); return;
    case 1: runRule(1, p, g, a, b, count, lr, momentum, beta1, beta2, eps, alpha, rho, bc1, bc2, cGrad, cAvg); return;
    case 2: runRule(2, p, g, a, b, count, lr, momentum, beta1, beta2, eps, alpha, rho, bc1, bc2, cGrad, cAvg); return;
    case 3: runRule(3, p, g, a, b, count, lr, momentum, beta1, beta2, eps, alpha, rho, bc1, bc2, cGrad, cAvg); return;
    case 4: runRule(4, p, g, a, b, count, lr, momentum, beta1, beta2, eps, alpha, rho, bc1, bc2, cGrad, cAvg); return;
    case 5: runRule(5, p, g, a, b, count, lr, momentum, beta1, beta2, eps, alpha, rho, bc1, bc2, cGrad, cAvg); return;
    case 6: runRule(6, p, g, a, b, count, lr, momentum, beta1, beta2, eps, alpha, rho, bc1, bc2, cGrad, cAvg); return;
    case 7: runRule(7, p, g, a, b, count, lr, momentum, beta1, beta2, eps, alpha, rho, bc1, bc2, cGrad, cAvg); return;
    default: unreachable();
  }
}
