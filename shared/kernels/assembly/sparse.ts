// denseForward over the nonzero inputs only (sparse rows such as MNIST pixels ÷ 255, ~80% exact
// zeros), in the axpy form: y[r,:] += x[r,k]·Wᵀ[k,:] for each nonzero x[r,k], with Wᵀ (n × m,
// the transpose of denseForward's W) so that the outputs j are contiguous.
//
// Bit-identical to denseForward (gemm.ts) for finite W: it keeps denseForward's sequence for
// every output, minus the terms whose input is zero:
//   a_l  = Σ over k ≡ l (mod 4), k < n & ~3, ascending, of x[r,k]·W[j,k]   (l = 0..3, from +0)
//   s    = (a_0 + a_2) + (a_1 + a_3); then s = s + x[r,k]·W[j,k] for the k tail ascending;
//   y    = s + b[j]
// A skipped term is x·w with x = ±0, i.e. ±0 (w finite), and acc + ±0 = acc for every acc
// that is not −0. No sum here is ever −0: each starts from +0, and a round-to-nearest sum of
// two values is −0 only when both are −0. So skipping changes no bit. (A W holding an
// infinity or NaN would turn 0·w into NaN: the caller checks W is finite.)
//
// idx: scratch for n int32 values: the nonzero columns of one row, grouped by k mod 4 (each
// group ascending) at offsets l·n4/4, then the tail's at n4.

/** four lane-class partial sums of one block of 32 outputs (4 × 32 floats) */
const PART = memory.data(4 * 32 * 4, 16);

@inline function mulAdd(acc: v128, a: v128, b: v128): v128 {
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** Σ over the list idx[from..to) of x[k]·Wᵀ[k, j..j+32) (from +0), stored at out */
@inline function axpy32(xr: usize, wj: usize, mb: usize, idx: usize, from: usize, to: usize, out: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (let t = from; t < to; t += 4) {
    const k = <usize>load<i32>(idx + t);
    const xv = v128.load32_splat(xr + (k << 2));
    const wp = wj + k * mb;
    a0 = mulAdd(a0, xv, v128.load(wp));
    a1 = mulAdd(a1, xv, v128.load(wp, 16));
    a2 = mulAdd(a2, xv, v128.load(wp, 32));
    a3 = mulAdd(a3, xv, v128.load(wp, 48));
    a4 = mulAdd(a4, xv, v128.load(wp, 64));
    a5 = mulAdd(a5, xv, v128.load(wp, 80));
    a6 = mulAdd(a6, xv, v128.load(wp, 96));
    a7 = mulAdd(a7, xv, v128.load(wp, 112));
  }
  v128.store(out, a0); v128.store(out, a1, 16); v128.store(out, a2, 32); v128.store(out, a3, 48);
  v128.store(out, a4, 64); v128.store(out, a5, 80); v128.store(out, a6, 96); v128.store(out, a7, 112);
}

/** the same for one vector of 4 outputs */
@inline function axpy4(xr: usize, wj: usize, mb: usize, idx: usize, from: usize, to: usize): v128 {
  let a = f32x4.splat(0);
  for (let t = from; t < to; t += 4) {
    const k = <usize>load<i32>(idx + t);
    a = mulAdd(a, v128.load32_splat(xr + (k << 2)), v128.load(wj + k * mb));
  }
  return a;
}

/** the tail terms s + x[k]·Wᵀ[k, j..j+4) ascending, then + b */
@inline function finish(s: v128, xr: usize, wj: usize, mb: usize, idx: usize, from: usize, to: usize, bj: usize): v128 {
  for (let t = from; t < to; t += 4) {
    const k = <usize>load<i32>(idx + t);
    s = mulAdd(s, v128.load32_splat(xr + (k << 2)), v128.load(wj + k * mb));
  }
  return f32x4.add(s, v128.load(bj));
}

/** y[r,j] = b[j] + Σ_{k: x[r,k] ≠ 0} x[r,k]·Wᵀ[k,j]; x rows×n, Wᵀ n×m, y rows×m; the same bits
 *  as denseForward(x, W, b, y, rows, n, m) for a finite W (see above) */
export function denseForwardSparse(x: usize, wt: usize, b: usize, y: usize, idx: usize, rows: i32, n: i32, m: i32): void {
  const N = <usize>n, M = <usize>m, nb = N << 2, mb = M << 2;
  const n4 = N & ~3, q = n4; // bytes of one class's slots: n4/4 int32 values
  const m32 = M & ~31, m4 = M & ~3;
  for (let r: usize = 0; r < <usize>rows; r++) {
    const xr = x + r * nb, yr = y + r * mb;
    // the nonzero columns, by class (ends[l] in bytes from idx)
    let e0: usize = 0, e1: usize = q, e2: usize = q << 1, e3: usize = q * 3;
    for (let k: usize = 0; k < n4; k += 4) {
      const p = xr + (k << 2);
      if (load<f32>(p) != 0) { store<i32>(idx + e0, <i32>k); e0 += 4; }
      if (load<f32>(p, 4) != 0) { store<i32>(idx + e1, <i32>(k + 1)); e1 += 4; }
      if (load<f32>(p, 8) != 0) { store<i32>(idx + e2, <i32>(k + 2)); e2 += 4; }
      if (load<f32>(p, 12) != 0) { store<i32>(idx + e3, <i32>(k + 3)); e3 += 4; }
    }
    const t0 = n4 << 2;
    let et = t0;
    for (let k = n4; k < N; k++) {
      if (load<f32>(xr + (k << 2)) != 0) { store<i32>(idx + et, <i32>k); et += 4; }
    }
    let j: usize = 0;
    for (; j < m32; j += 32) {
      const wj = wt + (j << 2);
      axpy32(xr, wj, mb, idx, 0, e0, PART);
      axpy32(xr, wj, mb, idx, q, e1, PART + 128);
      axpy32(xr, wj, mb, idx, 2 * q, e2, PART + 256);
      axpy32(xr, wj, mb, idx, 3 * q, e3, PART + 384);
      for (let v: usize = 0; v < 128; v += 16) {
        const s = f32x4.add(
          f32x4.add(v128.load(PART + v), v128.load(PART + 256 + v)),
          f32x4.add(v128.load(PART + 128 + v), v128.load(PART + 384 + v)),
        );
        v128.store(yr + (j << 2) + v, finish(s, xr, wj + v, mb, idx, t0, et, b + (j << 2) + v));
      }
    }
    for (; j < m4; j += 4) {
      const wj = wt + (j << 2);
      const s = f32x4.add(
        f32x4.add(axpy4(xr, wj, mb, idx, 0, e0), axpy4(xr, wj, mb, idx, 2 * q, e2)),
        f32x4.add(axpy4(xr, wj, mb, idx, q, e1), axpy4(xr, wj, mb, idx, 3 * q, e3)),
      );
      v128.store(yr + (j << 2), finish(s, xr, wj, mb, idx, t0, et, b + (j << 2)));
    }
    for (; j < M; j++) {
      const wj = wt + (j << 2);
      const s = (sum1(xr, wj, mb, idx, 0, e0) + sum1(xr, wj, mb, idx, 2 * q, e2)) +
        (sum1(xr, wj, mb, idx, q, e1) + sum1(xr, wj, mb, idx, 3 * q, e3));
      let t = s;
      for (let u = t0; u < et; u += 4) {
        const k = <usize>load<i32>(idx + u);
        t = t + load<f32>(xr + (k << 2)) * load<f32>(wj + k * mb);
      }
      store<f32>(yr + (j << 2), t + load<f32>(b + (j << 2)));
    }
  }
}

/** one output's class sum over the list idx[from..to) (from +0) */
@inline function sum1(xr: usize, wj: usize, mb: usize, idx: usize, from: usize, to: usize): f32 {
  let s: f32 = 0;
  for (let t = from; t < to; t += 4) {
    const k = <usize>load<i32>(idx + t);
    s = s + load<f32>(xr + (k << 2)) * load<f32>(wj + k * mb);
  }
  return s;
}

/** the number of nonzero values among x[0..count) (a block's density decides sparse or dense) */
export function countNonzero(x: usize, count: i32): i32 {
  let c = 0;
  const end = x + (<usize>count << 2);
  for (let p = x; p < end; p += 4) c += i32(load<f32>(p) != 0);
  return c;
}
