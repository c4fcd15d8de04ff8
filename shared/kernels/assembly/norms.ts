// BatchNorm kernels in f64, bit for bit the js variant's (shared/kernels/js.ts): every value is
// the same sequence of f64 operations (WebAssembly has no FMA and rounds each operation
// correctly, like V8's doubles), and every f32 store one rounding of it.
//
// Layout: x, dy, xhat, y, dx are rows × F f32, row-major; gb is [γ_0..γ_{F-1}, β_0..β_{F-1}]
// f32 and running [mean…, var…] f32; stats [n, mean_0..mean_{F-1}, M2_0..M2_{F-1}] f64, sums
// [Σdy…, Σdy·x̂…] f64, invStd F f64. Pointers are byte offsets; loads need no alignment.
//
// Vectorization runs across features only: four features per step (one f32x4 load, two f64x2
// halves), the last F mod 4 one at a time in scalar f64. Rows are visited in ascending order
// and the per-feature sums live in the output arrays, so each feature's accumulation is the
// js variant's sequence r = 0, 1, …, rows-1 starting from +0.

/** features 0, 1 of an f32x4 as f64x2 */
@inline function lo(a: v128): v128 {
  return f64x2.promote_low_f32x4(a);
}

/** features 2, 3 of an f32x4 as f64x2 */
@inline function hi(a: v128): v128 {
  return f64x2.promote_low_f32x4(f32x4.shuffle(a, a, 2, 3, 2, 3));
}

/** two f64x2 rounded to one f32x4 (a's lanes first) */
@inline function pack(a: v128, b: v128): v128 {
  return f32x4.shuffle(f32x4.demote_f64x2_zero(a), f32x4.demote_f64x2_zero(b), 0, 1, 4, 5);
}

@inline function ldf(p: usize): f64 {
  return <f64>load<f32>(p);
}

/** n f64 values at p set to +0 */
@inline function zero64(p: usize, n: usize): void {
  const z = f64x2.splat(0);
  const N = n << 3, N2 = N & ~15;
  let i: usize = 0;
  for (; i < N2; i += 16) v128.store(p + i, z);
  for (; i < N; i += 8) store<f64>(p + i, 0);
}

/** out = [rows, mean…, M2…]: mean_f = (Σ_r x[r,f]) / rows, M2_f = Σ_r (x[r,f] - mean_f)² */
export function bnPartialStats(x: usize, rows: i32, F: i32, out: usize): void {
  const Fu = <usize>F, F4 = Fu & ~3, R = <usize>rows;
  const mean = out + 8, m2 = mean + (Fu << 3);
  store<f64>(out, <f64>rows);
  zero64(mean, Fu << 1);
  for (let r: usize = 0; r < R; r++) {
    const xr = x + r * Fu * 4;
    let f: usize = 0;
    for (; f < F4; f += 4) {
      const a = v128.load(xr + (f << 2));
      const s = mean + (f << 3);
      v128.store(s, f64x2.add(v128.load(s), lo(a)));
      v128.store(s, f64x2.add(v128.load(s, 16), hi(a)), 16);
    }
    for (; f < Fu; f++) {
      const s = mean + (f << 3);
      store<f64>(s, load<f64>(s) + ldf(xr + (f << 2)));
    }
  }
  const n: f64 = <f64>rows;
  const nv = f64x2.splat(n);
  let f: usize = 0;
  for (; f + 2 <= Fu; f += 2) v128.store(mean + (f << 3), f64x2.div(v128.load(mean + (f << 3)), nv));
  for (; f < Fu; f++) store<f64>(mean + (f << 3), load<f64>(mean + (f << 3)) / n);
  for (let r: usize = 0; r < R; r++) {
    const xr = x + r * Fu * 4;
    let f: usize = 0;
    for (; f < F4; f += 4) {
      const a = v128.load(xr + (f << 2));
      const mu = mean + (f << 3), s = m2 + (f << 3);
      const d0 = f64x2.sub(lo(a), v128.load(mu));
      const d1 = f64x2.sub(hi(a), v128.load(mu, 16));
      v128.store(s, f64x2.add(v128.load(s), f64x2.mul(d0, d0)));
      v128.store(s, f64x2.add(v128.load(s, 16), f64x2.mul(d1, d1)), 16);
    }
    for (; f < Fu; f++) {
      const d = ldf(xr + (f << 2)) - load<f64>(mean + (f << 3));
      const s = m2 + (f << 3);
      store<f64>(s, load<f64>(s) + d * d);
    }
  }
}

/** invStd[f] = 1 / √(v_f + eps), with v_f = v[f] / n when `divide` (v f64), or v[f] (f32 when vf32) */
@inline function invStdFrom(v: usize, vf32: bool, n: f64, divide: bool, eps: f64, invStd: usize, Fu: usize): void {
  const nv = f64x2.splat(n), ev = f64x2.splat(eps), one = f64x2.splat(1);
  let f: usize = 0;
  for (; f + 2 <= Fu; f += 2) {
    let a = vf32 ? f64x2.promote_low_f32x4(v128.load64_zero(v + (f << 2))) : v128.load(v + (f << 3));
    if (divide) a = f64x2.div(a, nv);
    v128.store(invStd + (f << 3), f64x2.div(one, f64x2.sqrt(f64x2.add(a, ev))));
  }
  for (; f < Fu; f++) {
    let a = vf32 ? ldf(v + (f << 2)) : load<f64>(v + (f << 3));
    if (divide) a = a / n;
    store<f64>(invStd + (f << 3), 1 / Math.sqrt(a + eps));
  }
}

/** x̂ = (x - mean_f)·invStd[f] (f64), xhat = f32(x̂), y = f32(γ_f·x̂ + β_f); mean f64 or f32 */
@inline function normalize(x: usize, rows: i32, Fu: usize, mean: usize, mf32: bool, gb: usize, invStd: usize, xhat: usize, y: usize): void {
  const F4 = Fu & ~3, R = <usize>rows;
  const beta = gb + (Fu << 2);
  for (let r: usize = 0; r < R; r++) {
    const o = r * Fu * 4;
    let f: usize = 0;
    for (; f < F4; f += 4) {
      const a = v128.load(x + o + (f << 2));
      let m0: v128, m1: v128;
      if (mf32) {
        const m = v128.load(mean + (f << 2));
        m0 = lo(m);
        m1 = hi(m);
      } else {
        m0 = v128.load(mean + (f << 3));
        m1 = v128.load(mean + (f << 3), 16);
      }
      const xh0 = f64x2.mul(f64x2.sub(lo(a), m0), v128.load(invStd + (f << 3)));
      const xh1 = f64x2.mul(f64x2.sub(hi(a), m1), v128.load(invStd + (f << 3), 16));
      v128.store(xhat + o + (f << 2), pack(xh0, xh1));
      const g = v128.load(gb + (f << 2)), b = v128.load(beta + (f << 2));
      v128.store(y + o + (f << 2), pack(f64x2.add(f64x2.mul(lo(g), xh0), lo(b)), f64x2.add(f64x2.mul(hi(g), xh1), hi(b))));
    }
    for (; f < Fu; f++) {
      const m = mf32 ? ldf(mean + (f << 2)) : load<f64>(mean + (f << 3));
      const xh = (ldf(x + o + (f << 2)) - m) * load<f64>(invStd + (f << 3));
      store<f32>(xhat + o + (f << 2), <f32>xh);
      store<f32>(y + o + (f << 2), <f32>(ldf(gb + (f << 2)) * xh + ldf(beta + (f << 2))));
    }
  }
}

/** training forward: invStd[f] = 1 / √(M2_f / n + eps), then normalize with the batch mean */
export function bnApplyStats(x: usize, rows: i32, F: i32, stats: usize, gb: usize, eps: f64, invStd: usize, xhat: usize, y: usize): void {
  const Fu = <usize>F;
  const n = load<f64>(stats);
  invStdFrom(stats + 8 + (Fu << 3), false, n, true, eps, invStd, Fu);
  normalize(x, rows, Fu, stats + 8, false, gb, invStd, xhat, y);
}

/** eval forward: invStd[f] = 1 / √(running var_f + eps), then normalize with the running mean */
export function bnForwardEval(x: usize, rows: i32, F: i32, running: usize, gb: usize, eps: f64, invStd: usize, xhat: usize, y: usize): void {
  const Fu = <usize>F;
  invStdFrom(running + (Fu << 2), true, 1, false, eps, invStd, Fu);
  normalize(x, rows, Fu, running, true, gb, invStd, xhat, y);
}

/** sums = [Σ_r dy, Σ_r dy·xhat] (replaced); g[f] += sums[F+f], g[F+f] += sums[f] (f32 stores) */
export function bnPartialGradSums(dy: usize, xhat: usize, rows: i32, F: i32, sums: usize, g: usize): void {
  const Fu = <usize>F, F4 = Fu & ~3, R = <usize>rows;
  const s1 = sums, s2 = sums + (Fu << 3);
  zero64(sums, Fu << 1);
  for (let r: usize = 0; r < R; r++) {
    const o = r * Fu * 4;
    let f: usize = 0;
    for (; f < F4; f += 4) {
      const d = v128.load(dy + o + (f << 2)), h = v128.load(xhat + o + (f << 2));
      const d0 = lo(d), d1 = hi(d);
      const p = s1 + (f << 3), q = s2 + (f << 3);
      v128.store(p, f64x2.add(v128.load(p), d0));
      v128.store(p, f64x2.add(v128.load(p, 16), d1), 16);
      v128.store(q, f64x2.add(v128.load(q), f64x2.mul(d0, lo(h))));
      v128.store(q, f64x2.add(v128.load(q, 16), f64x2.mul(d1, hi(h))), 16);
    }
    for (; f < Fu; f++) {
      const d = ldf(dy + o + (f << 2));
      const p = s1 + (f << 3), q = s2 + (f << 3);
      store<f64>(p, load<f64>(p) + d);
      store<f64>(q, load<f64>(q) + d * ldf(xhat + o + (f << 2)));
    }
  }
  const gBeta = g + (Fu << 2);
  for (let f: usize = 0; f < Fu; f++) {
    store<f32>(g + (f << 2), <f32>(ldf(g + (f << 2)) + load<f64>(s2 + (f << 3))));
    store<f32>(gBeta + (f << 2), <f32>(ldf(gBeta + (f << 2)) + load<f64>(s1 + (f << 3))));
  }
}

/** dx = f32((γ_f·invStd[f])·((dy - sums[f]/n) - (xhat·sums[F+f])/n)). Features outer, rows
 *  inner: γ_f·invStd[f] and sums[f]/n are computed once per feature (the same values the js
 *  variant computes per element); (xhat·sums[F+f])/n stays per element. */
export function bnApplyGradSums(dy: usize, xhat: usize, rows: i32, F: i32, gb: usize, invStd: usize, sums: usize, n: f64, dx: usize): void {
  const Fu = <usize>F, F4 = Fu & ~3, R = <usize>rows;
  const s1 = sums, s2 = sums + (Fu << 3);
  const stride = Fu << 2, end = R * stride;
  const nv = f64x2.splat(n);
  let f: usize = 0;
  for (; f < F4; f += 4) {
    const g = v128.load(gb + (f << 2));
    const k0 = f64x2.mul(lo(g), v128.load(invStd + (f << 3)));
    const k1 = f64x2.mul(hi(g), v128.load(invStd + (f << 3), 16));
    const a0 = f64x2.div(v128.load(s1 + (f << 3)), nv);
    const a1 = f64x2.div(v128.load(s1 + (f << 3), 16), nv);
    const b0 = v128.load(s2 + (f << 3));
    const b1 = v128.load(s2 + (f << 3), 16);
    for (let o: usize = f << 2; o < end; o += stride) {
      const d = v128.load(dy + o), h = v128.load(xhat + o);
      const t0 = f64x2.sub(f64x2.sub(lo(d), a0), f64x2.div(f64x2.mul(lo(h), b0), nv));
      const t1 = f64x2.sub(f64x2.sub(hi(d), a1), f64x2.div(f64x2.mul(hi(h), b1), nv));
      v128.store(dx + o, pack(f64x2.mul(k0, t0), f64x2.mul(k1, t1)));
    }
  }
  for (; f < Fu; f++) {
    const k = ldf(gb + (f << 2)) * load<f64>(invStd + (f << 3));
    const a = load<f64>(s1 + (f << 3)) / n, b = load<f64>(s2 + (f << 3));
    for (let o: usize = f << 2; o < end; o += stride) {
      store<f32>(dx + o, <f32>(k * (ldf(dy + o) - a - ldf(xhat + o) * b / n)));
    }
  }
}

/** dx = f32((γ_f·invStd[f])·dy) */
export function bnBackwardEval(dy: usize, rows: i32, F: i32, gb: usize, invStd: usize, dx: usize): void {
  const Fu = <usize>F, F4 = Fu & ~3, R = <usize>rows;
  for (let r: usize = 0; r < R; r++) {
    const o = r * Fu * 4;
    let f: usize = 0;
    for (; f < F4; f += 4) {
      const g = v128.load(gb + (f << 2));
      const k0 = f64x2.mul(lo(g), v128.load(invStd + (f << 3)));
      const k1 = f64x2.mul(hi(g), v128.load(invStd + (f << 3), 16));
      const d = v128.load(dy + o + (f << 2));
      v128.store(dx + o + (f << 2), pack(f64x2.mul(k0, lo(d)), f64x2.mul(k1, hi(d))));
    }
    for (; f < Fu; f++) {
      store<f32>(dx + o + (f << 2), <f32>(ldf(gb + (f << 2)) * load<f64>(invStd + (f << 3)) * ldf(dy + o + (f << 2))));
    }
  }
}

/** running = (1 - m)·running + m·batch (mean, and the unbiased variance M2/(n-1) when n > 1) */
export function bnUpdateRunning(running: usize, stats: usize, F: i32, momentum: f64): void {
  const Fu = <usize>F;
  const n = load<f64>(stats);
  const mean = stats + 8, m2 = mean + (Fu << 3);
  const rv = running + (Fu << 2);
  for (let f: usize = 0; f < Fu; f++) {
    store<f32>(running + (f << 2), <f32>((1 - momentum) * ldf(running + (f << 2)) + momentum * load<f64>(mean + (f << 3))));
    const v = load<f64>(m2 + (f << 3));
    const unbiased = n > 1 ? v / (n - 1) : v;
    store<f32>(rv + (f << 2), <f32>((1 - momentum) * ldf(rv + (f << 2)) + momentum * unbiased));
  }
}
