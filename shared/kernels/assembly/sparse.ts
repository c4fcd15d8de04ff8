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
// The nonzero columns of a row are listed by k mod 4 (each list ascending) at offsets l·n4/4
// of the row's n int32 in idx, then the tail's at n4; their input values at the same offsets of
// the row's n float32 in the values region (GROUP·n int32 further on), so that the sums read the
// inputs in list order, and an input given as bytes (IDX pixels) is turned into its float once. The `mb` of the helpers below is the
// byte stride between rows k of Wᵀ's panel.

/** four lane-class partial sums of one block of 32 outputs (4 × 32 floats) */
const PART = memory.data(4 * 32 * 4, 16);

@inline function mulAdd(acc: v128, a: v128, b: v128): v128 {
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** Σ over the list idx[from..to) of x[k]·Wᵀ[k, j..j+32) (from +0), stored at out */
@inline function axpy32(vr: usize, wj: usize, mb: usize, idx: usize, from: usize, to: usize, out: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (let t = from; t < to; t += 4) {
    const k = <usize>load<i32>(idx + t);
    const xv = v128.load32_splat(vr + t);
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
@inline function axpy4(vr: usize, wj: usize, mb: usize, idx: usize, from: usize, to: usize): v128 {
  let a = f32x4.splat(0);
  for (let t = from; t < to; t += 4) {
    const k = <usize>load<i32>(idx + t);
    a = mulAdd(a, v128.load32_splat(vr + t), v128.load(wj + k * mb));
  }
  return a;
}

/** the tail terms s + x[k]·Wᵀ[k, j..j+4) ascending, then + b */
@inline function finish(s: v128, vr: usize, wj: usize, mb: usize, idx: usize, from: usize, to: usize, bj: usize): v128 {
  for (let t = from; t < to; t += 4) {
    const k = <usize>load<i32>(idx + t);
    s = mulAdd(s, v128.load32_splat(vr + t), v128.load(wj + k * mb));
  }
  return f32x4.add(s, v128.load(bj));
}

/** rows per group: the nonzero lists of a group are gathered first, then each panel of Wᵀ serves
 *  every row of the group while it is in cache (panels.ts's SPARSE_GROUP_ROWS) */
const GROUP: usize = 16;
/** per row of a group: the list ends e0..e3 and the tail's end, in bytes from its idx region */
const ENDS = memory.data(<i32>GROUP * 5 * 4, 16);

/** one nonzero input: k at the list's end e in ir, its value at the same offset in vr */
@inline function keep(ir: usize, vr: usize, e: usize, k: usize, v: f32): usize {
  store<i32>(ir + e, <i32>k);
  store<f32>(vr + e, v);
  return e + 4;
}

/** row xr's nonzero columns (float32 inputs) into ir and their values into vr (by class, see
 *  above); the lists' ends at en */
@inline function gather(xr: usize, ir: usize, vr: usize, en: usize, N: usize, n4: usize): void {
  const q = n4;
  let e0: usize = 0, e1: usize = q, e2: usize = q << 1, e3: usize = q * 3;
  for (let k: usize = 0; k < n4; k += 4) {
    const p = xr + (k << 2);
    const v0 = load<f32>(p), v1 = load<f32>(p, 4), v2 = load<f32>(p, 8), v3 = load<f32>(p, 12);
    if (v0 != 0) e0 = keep(ir, vr, e0, k, v0);
    if (v1 != 0) e1 = keep(ir, vr, e1, k + 1, v1);
    if (v2 != 0) e2 = keep(ir, vr, e2, k + 2, v2);
    if (v3 != 0) e3 = keep(ir, vr, e3, k + 3, v3);
  }
  let et: usize = n4 << 2;
  for (let k = n4; k < N; k++) {
    const v = load<f32>(xr + (k << 2));
    if (v != 0) et = keep(ir, vr, et, k, v);
  }
  store<i32>(en, <i32>e0); store<i32>(en, <i32>e1, 4); store<i32>(en, <i32>e2, 8);
  store<i32>(en, <i32>e3, 12); store<i32>(en, <i32>et, 16);
}

/** the same from bytes br (IDX pixels): byte b ≠ 0 is the input table[b] (the caller's b / 255,
 *  never 0 for b ≠ 0; table: 256 float32) */
@inline function gatherBytes(br: usize, table: usize, ir: usize, vr: usize, en: usize, N: usize, n4: usize): void {
  const q = n4;
  let e0: usize = 0, e1: usize = q, e2: usize = q << 1, e3: usize = q * 3;
  for (let k: usize = 0; k < n4; k += 4) {
    const p = br + k;
    const b0 = <usize>load<u8>(p), b1 = <usize>load<u8>(p, 1), b2 = <usize>load<u8>(p, 2), b3 = <usize>load<u8>(p, 3);
    if (b0 != 0) e0 = keep(ir, vr, e0, k, load<f32>(table + (b0 << 2)));
    if (b1 != 0) e1 = keep(ir, vr, e1, k + 1, load<f32>(table + (b1 << 2)));
    if (b2 != 0) e2 = keep(ir, vr, e2, k + 2, load<f32>(table + (b2 << 2)));
    if (b3 != 0) e3 = keep(ir, vr, e3, k + 3, load<f32>(table + (b3 << 2)));
  }
  let et: usize = n4 << 2;
  for (let k = n4; k < N; k++) {
    const b = <usize>load<u8>(br + k);
    if (b != 0) et = keep(ir, vr, et, k, load<f32>(table + (b << 2)));
  }
  store<i32>(en, <i32>e0); store<i32>(en, <i32>e1, 4); store<i32>(en, <i32>e2, 8);
  store<i32>(en, <i32>e3, 12); store<i32>(en, <i32>et, 16);
}

/** y[r,j] = b[j] + Σ_{k: x[r,k] ≠ 0} x[r,k]·Wᵀ[k,j]; x rows×n, y rows×m; Wᵀ in column panels
 *  (panels.ts: panel j0 of width w = min(32, m − j0) at float j0·n, element (k, j) at
 *  j0·n + k·w + j − j0); idx: scratch of 2·GROUP·n int32 (the lists, then their values). The
 *  same bits as denseForward(x, W, b, y, rows, n, m) for a finite W (see above). */
export function denseForwardSparse(x: usize, wp: usize, b: usize, y: usize, idx: usize, rows: i32, n: i32, m: i32): void {
  sparseForward(x, 0, wp, b, y, idx, rows, n, m);
}

/** denseForwardSparse with x = table[bytes] (rows × n bytes; table: 256 float32, table[0] = 0):
 *  IDX pixels ÷ 255 without the float32 rows in memory */
export function denseForwardSparseBytes(bytes: usize, table: usize, wp: usize, b: usize, y: usize, idx: usize, rows: i32, n: i32, m: i32): void {
  sparseForward(bytes, table, wp, b, y, idx, rows, n, m);
}

/** table = 0: x is float32; else x is bytes, each the input table[byte] */
function sparseForward(x: usize, table: usize, wp: usize, b: usize, y: usize, idx: usize, rows: i32, n: i32, m: i32): void {
  const N = <usize>n, M = <usize>m, R = <usize>rows, nb = N << 2, mb = M << 2;
  const n4 = N & ~3, q = n4, t0 = n4 << 2;
  for (let r0: usize = 0; r0 < R; r0 += GROUP) {
    const g = min(GROUP, R - r0);
    for (let i: usize = 0; i < g; i++) {
      const ir = idx + i * nb, vr = ir + GROUP * nb, en = ENDS + i * 20;
      if (table == 0) gather(x + (r0 + i) * nb, ir, vr, en, N, n4);
      else gatherBytes(x + (r0 + i) * N, table, ir, vr, en, N, n4);
    }
    for (let j0: usize = 0; j0 < M; j0 += 32) {
      const w = min(<usize>32, M - j0), wb = w << 2;
      const panel = wp + j0 * nb, bj0 = b + (j0 << 2);
      for (let i: usize = 0; i < g; i++) {
        const yr = y + (r0 + i) * mb + (j0 << 2), ir = idx + i * nb, vr = ir + GROUP * nb, en = ENDS + i * 20;
        const e0 = <usize>load<i32>(en), e1 = <usize>load<i32>(en, 4), e2 = <usize>load<i32>(en, 8);
        const e3 = <usize>load<i32>(en, 12), et = <usize>load<i32>(en, 16);
        let jj: usize = 0;
        if (w == 32) {
          axpy32(vr, panel, wb, ir, 0, e0, PART);
          axpy32(vr, panel, wb, ir, q, e1, PART + 128);
          axpy32(vr, panel, wb, ir, 2 * q, e2, PART + 256);
          axpy32(vr, panel, wb, ir, 3 * q, e3, PART + 384);
          for (let v: usize = 0; v < 128; v += 16) {
            const s = f32x4.add(
              f32x4.add(v128.load(PART + v), v128.load(PART + 256 + v)),
              f32x4.add(v128.load(PART + 128 + v), v128.load(PART + 384 + v)),
            );
            v128.store(yr + v, finish(s, vr, panel + v, wb, ir, t0, et, bj0 + v));
          }
          continue;
        }
        for (; jj + 4 <= w; jj += 4) {
          const wj = panel + (jj << 2);
          const s = f32x4.add(
            f32x4.add(axpy4(vr, wj, wb, ir, 0, e0), axpy4(vr, wj, wb, ir, 2 * q, e2)),
            f32x4.add(axpy4(vr, wj, wb, ir, q, e1), axpy4(vr, wj, wb, ir, 3 * q, e3)),
          );
          v128.store(yr + (jj << 2), finish(s, vr, wj, wb, ir, t0, et, bj0 + (jj << 2)));
        }
        for (; jj < w; jj++) {
          const wj = panel + (jj << 2);
          let s = (sum1(vr, wj, wb, ir, 0, e0) + sum1(vr, wj, wb, ir, 2 * q, e2)) +
            (sum1(vr, wj, wb, ir, q, e1) + sum1(vr, wj, wb, ir, 3 * q, e3));
          for (let u = t0; u < et; u += 4) {
            const k = <usize>load<i32>(ir + u);
            s = s + load<f32>(vr + u) * load<f32>(wj + k * wb);
          }
          store<f32>(yr + (jj << 2), s + load<f32>(bj0 + (jj << 2)));
        }
      }
    }
  }
}

/** one output's class sum over the list idx[from..to) (from +0) */
@inline function sum1(vr: usize, wj: usize, mb: usize, idx: usize, from: usize, to: usize): f32 {
  let s: f32 = 0;
  for (let t = from; t < to; t += 4) {
    const k = <usize>load<i32>(idx + t);
    s = s + load<f32>(vr + t) * load<f32>(wj + k * mb);
  }
  return s;
}

/** the number of nonzero values among x[0..count) (a block's density decides sparse or dense) */
export function countNonzero(x: usize, count: i32): i32 {
  const n = <usize>count;
  const zero = f32x4.splat(0);
  let lanes = i32x4.splat(0);
  let i: usize = 0;
  // a lane of f32x4.ne is −1 where x ≠ 0 (NaN included, ±0 not), as in the scalar test below
  for (; i + 16 <= n; i += 16) {
    const p = x + (i << 2);
    lanes = i32x4.sub(lanes, f32x4.ne(v128.load(p), zero));
    lanes = i32x4.sub(lanes, f32x4.ne(v128.load(p, 16), zero));
    lanes = i32x4.sub(lanes, f32x4.ne(v128.load(p, 32), zero));
    lanes = i32x4.sub(lanes, f32x4.ne(v128.load(p, 48), zero));
  }
  let c =
    i32x4.extract_lane(lanes, 0) + i32x4.extract_lane(lanes, 1) + i32x4.extract_lane(lanes, 2) + i32x4.extract_lane(lanes, 3);
  for (; i < n; i++) c += i32(load<f32>(x + (i << 2)) != 0);
  return c;
}

/** the number of nonzero bytes among bytes[0..count) */
export function countNonzeroBytes(bytes: usize, count: i32): i32 {
  const n = <usize>count;
  const zero = i8x16.splat(0);
  let c: i32 = 0;
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) c += popcnt<i32>(i8x16.bitmask(i8x16.ne(v128.load(bytes + i), zero)));
  for (; i < n; i++) c += i32(load<u8>(bytes + i) != 0);
  return c;
}

/** W (m × n, row-major) into the column panels denseForwardSparse reads (panels.ts's layout:
 *  panel j0 of width w = min(32, m − j0) at j0·n, W[j,k] at j0·n + k·w + (j − j0)); returns 1
 *  when every value of W is finite, else 0 (the sparse path needs a finite W) */
export function sparsePanels(w: usize, out: usize, n: i32, m: i32): i32 {
  let finite: i32 = 1;
  for (let j0 = 0; j0 < m; j0 += 32) {
    const width = min(32, m - j0);
    for (let j = j0; j < j0 + width; j++) {
      const row = w + (<usize>j * <usize>n << 2);
      const col = out + ((<usize>j0 * <usize>n + <usize>(j - j0)) << 2);
      const stride = <usize>width << 2;
      for (let k: usize = 0; k < <usize>n; k++) {
        const v = load<f32>(row + (k << 2));
        if (v - v != 0) finite = 0; // ±∞ and NaN
        store<f32>(col + k * stride, v);
      }
    }
  }
  return finite;
}

/** x[i] = bytes[i] / 255 for i < count (IDX pixels to [0, 1]): the quotient rounded once to
 *  float32, which is also fround(b / 255) of the float64 quotient for every byte b (checked for
 *  all 256 in test/unit/kernels-sparse.test.ts) */
export function unitBytes(bytes: usize, x: usize, count: i32): void {
  const d = f32x4.splat(255);
  const n = <usize>count;
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) {
    const b = v128.load(bytes + i);
    const o = x + (i << 2);
    const lo = i16x8.extend_low_i8x16_u(b);
    const hi = i16x8.extend_high_i8x16_u(b);
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(lo)), d));
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(lo)), d), 16);
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(hi)), d), 32);
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(hi)), d), 48);
  }
  for (; i < n; i++) store<f32>(x + (i << 2), <f32>load<u8>(bytes + i) / 255);
}
