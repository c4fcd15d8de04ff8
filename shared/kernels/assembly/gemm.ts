// Dense-layer products in f32 SIMD (WebAssembly 128-bit lanes, no FMA), register-blocked.
//
// Exactness (invariant I1): every output element is computed by the same sequence of f32
// operations whatever the number of rows in the call, the row's position and the block the
// element falls into. Blocking only decides which elements share a load, never the arithmetic
// of one element:
//   denseForward  acc = Σ over k-chunks c ascending of x[r,4c:4c+4]·W[j,4c:4c+4] (4 lane sums,
//                 each sequential); s = (acc0 + acc2) + (acc1 + acc3); then the k tail
//                 (n mod 4 values) s = s + x[r,k]·W[j,k] ascending; y = s + b[j]
//   denseDx       dx[r,k] = 0, then + dy[r,j]·W[j,k] for j ascending
//   denseGrads    gW[j,k] = gW[j,k] + dy[r,j]·x[r,k] for r ascending; gb[j] likewise
// Every block shape (and the scalar tails) below follows exactly these sequences.
//
// Pointers are byte offsets into the imported memory; rows, n, m ≥ 0. Loads need no alignment.

/** acc + a·b with two roundings (a multiply, then an add: WebAssembly SIMD has no FMA, and a
 *  fused one would change the bits) */
@inline function mulAdd(acc: v128, a: v128, b: v128): v128 {
  return f32x4.add(acc, f32x4.mul(a, b));
}

// ---------------------------------------------------------------- denseForward

/** (a0 + a2) + (a1 + a3) of one accumulator, as lane 0 */
@inline function hsum(a: v128): f32 {
  const h = f32x4.add(a, f32x4.shuffle(a, a, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.add(h, f32x4.shuffle(h, h, 1, 0, 3, 2)), 0);
}

/** lane i = (ai.0 + ai.2) + (ai.1 + ai.3): four hsums at once, same order as hsum */
@inline function hsum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const s01 = f32x4.add(f32x4.shuffle(a0, a1, 0, 1, 4, 5), f32x4.shuffle(a0, a1, 2, 3, 6, 7));
  const s23 = f32x4.add(f32x4.shuffle(a2, a3, 0, 1, 4, 5), f32x4.shuffle(a2, a3, 2, 3, 6, 7));
  return f32x4.add(f32x4.shuffle(s01, s23, 0, 2, 4, 6), f32x4.shuffle(s01, s23, 1, 3, 5, 7));
}

/** Finish four outputs j..j+3 of one row: the k tail, then the bias; store. */
@inline function finish4(red: v128, xr: usize, wj: usize, nb: usize, kb: usize, ke: usize, bj: usize, yo: usize): void {
  for (; kb < ke; kb += 4) {
    let wv = f32x4.splat(load<f32>(wj + kb));
    wv = f32x4.replace_lane(wv, 1, load<f32>(wj + nb + kb));
    wv = f32x4.replace_lane(wv, 2, load<f32>(wj + 2 * nb + kb));
    wv = f32x4.replace_lane(wv, 3, load<f32>(wj + 3 * nb + kb));
    red = f32x4.add(red, f32x4.mul(f32x4.splat(load<f32>(xr + kb)), wv));
  }
  v128.store(yo, f32x4.add(red, v128.load(bj)));
}

/** Finish one output: the k tail, then the bias; store. */
@inline function finish1(acc: v128, xr: usize, wj: usize, kb: usize, ke: usize, bj: usize, yo: usize): void {
  let s = hsum(acc);
  for (; kb < ke; kb += 4) s = s + load<f32>(xr + kb) * load<f32>(wj + kb);
  store<f32>(yo, s + load<f32>(bj));
}

// rows × outputs blocks: 2×4 (main), 1×4 (row tail), 2×1 and 1×1 (output tail)

// (Unrolling the k loops by four chunks with immediate load offsets was slower: Binaryen sinks
// the loads into per-accumulator expression trees and V8 then spills registers.)

@inline function fwd2x4(x0: usize, x1: usize, w0: usize, nb: usize, k4: usize, ke: usize, bj: usize, y0: usize, y1: usize): void {
  const w1 = w0 + nb, w2 = w1 + nb, w3 = w2 + nb;
  let a00 = f32x4.splat(0), a01 = a00, a02 = a00, a03 = a00;
  let a10 = a00, a11 = a00, a12 = a00, a13 = a00;
  for (let kb: usize = 0; kb < k4; kb += 16) {
    const v0 = v128.load(x0 + kb), v1 = v128.load(x1 + kb);
    let w = v128.load(w0 + kb);
    a00 = mulAdd(a00, v0, w); a10 = mulAdd(a10, v1, w); w = v128.load(w1 + kb);
    a01 = mulAdd(a01, v0, w); a11 = mulAdd(a11, v1, w); w = v128.load(w2 + kb);
    a02 = mulAdd(a02, v0, w); a12 = mulAdd(a12, v1, w); w = v128.load(w3 + kb);
    a03 = mulAdd(a03, v0, w); a13 = mulAdd(a13, v1, w);
  }
  finish4(hsum4(a00, a01, a02, a03), x0, w0, nb, k4, ke, bj, y0);
  finish4(hsum4(a10, a11, a12, a13), x1, w0, nb, k4, ke, bj, y1);
}

@inline function fwd1x4(x0: usize, w0: usize, nb: usize, k4: usize, ke: usize, bj: usize, y0: usize): void {
  const w1 = w0 + nb, w2 = w1 + nb, w3 = w2 + nb;
  let a00 = f32x4.splat(0), a01 = a00, a02 = a00, a03 = a00;
  for (let kb: usize = 0; kb < k4; kb += 16) {
    const v0 = v128.load(x0 + kb);
    a00 = mulAdd(a00, v0, v128.load(w0 + kb));
    a01 = mulAdd(a01, v0, v128.load(w1 + kb));
    a02 = mulAdd(a02, v0, v128.load(w2 + kb));
    a03 = mulAdd(a03, v0, v128.load(w3 + kb));
  }
  finish4(hsum4(a00, a01, a02, a03), x0, w0, nb, k4, ke, bj, y0);
}

@inline function fwd2x1(x0: usize, x1: usize, w0: usize, k4: usize, ke: usize, bj: usize, y0: usize, y1: usize): void {
  let a0 = f32x4.splat(0), a1 = a0;
  for (let kb: usize = 0; kb < k4; kb += 16) {
    const w = v128.load(w0 + kb);
    a0 = mulAdd(a0, v128.load(x0 + kb), w);
    a1 = mulAdd(a1, v128.load(x1 + kb), w);
  }
  finish1(a0, x0, w0, k4, ke, bj, y0);
  finish1(a1, x1, w0, k4, ke, bj, y1);
}

@inline function fwd1x1(x0: usize, w0: usize, k4: usize, ke: usize, bj: usize, y0: usize): void {
  let a0 = f32x4.splat(0);
  for (let kb: usize = 0; kb < k4; kb += 16) a0 = mulAdd(a0, v128.load(x0 + kb), v128.load(w0 + kb));
  finish1(a0, x0, w0, k4, ke, bj, y0);
}

/** y[r,j] = b[j] + Σ_k x[r,k]·W[j,k]; x rows×n, W m×n, y rows×m */
export function denseForward(x: usize, w: usize, b: usize, y: usize, rows: i32, n: i32, m: i32): void {
  const nb = <usize>n << 2, mb = <usize>m << 2;
  const k4 = (<usize>n & ~3) << 2, ke = nb;
  const m4 = <usize>(m & ~3);
  const R = <usize>rows;
  // output blocks outermost: four rows of W (4·n floats) stay in L1 while the rows stream by
  let j: usize = 0;
  for (; j < m4; j += 4) {
    const wj = w + j * nb, bj = b + (j << 2);
    let r: usize = 0;
    for (; r + 2 <= R; r += 2) {
      const x0 = x + r * nb, y0 = y + r * mb + (j << 2);
      fwd2x4(x0, x0 + nb, wj, nb, k4, ke, bj, y0, y0 + mb);
    }
    if (r < R) fwd1x4(x + r * nb, wj, nb, k4, ke, bj, y + r * mb + (j << 2));
  }
  for (; j < <usize>m; j++) {
    const wj = w + j * nb, bj = b + (j << 2);
    let r: usize = 0;
    for (; r + 2 <= R; r += 2) {
      const x0 = x + r * nb, y0 = y + r * mb + (j << 2);
      fwd2x1(x0, x0 + nb, wj, k4, ke, bj, y0, y0 + mb);
    }
    if (r < R) fwd1x1(x + r * nb, wj, k4, ke, bj, y + r * mb + (j << 2));
  }
}

// ---------------------------------------------------------------- denseDx

/** dx[r,k] = Σ_j dy[r,j]·W[j,k] (overwrites dx), j ascending */
export function denseDx(dy: usize, w: usize, dx: usize, rows: i32, n: i32, m: i32): void {
  const nb = <usize>n << 2, mb = <usize>m << 2;
  const M = <usize>m, R = <usize>rows;
  const k16 = (<usize>n & ~15) << 2, k4 = (<usize>n & ~3) << 2, ke = nb;
  const jEnd = M << 2;
  const R2 = R & ~1;
  // Column blocks outermost, so the block's slice of W (m × 16 floats) stays in L1 while the
  // rows go by; 2 rows × 16 columns: per j, four loads of W's row and two broadcasts of dy
  let kb: usize = 0;
  for (; kb < k16; kb += 64) {
    let r: usize = 0;
    for (; r < R2; r += 2) {
      const d0 = dy + r * mb, d1 = d0 + mb, x0 = dx + r * nb + kb, x1 = x0 + nb;
      let a00 = f32x4.splat(0), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
      let wp = w + kb;
      for (let jb: usize = 0; jb < jEnd; jb += 4) {
        const w0 = v128.load(wp), w1 = v128.load(wp, 16), w2 = v128.load(wp, 32), w3 = v128.load(wp, 48);
        wp += nb;
        let d = v128.load32_splat(d0 + jb);
        a00 = mulAdd(a00, d, w0); a01 = mulAdd(a01, d, w1); a02 = mulAdd(a02, d, w2); a03 = mulAdd(a03, d, w3);
        d = v128.load32_splat(d1 + jb);
        a10 = mulAdd(a10, d, w0); a11 = mulAdd(a11, d, w1); a12 = mulAdd(a12, d, w2); a13 = mulAdd(a13, d, w3);
      }
      v128.store(x0, a00); v128.store(x0, a01, 16); v128.store(x0, a02, 32); v128.store(x0, a03, 48);
      v128.store(x1, a10); v128.store(x1, a11, 16); v128.store(x1, a12, 32); v128.store(x1, a13, 48);
    }
    if (r < R) {
      const d0 = dy + r * mb, x0 = dx + r * nb + kb;
      let a00 = f32x4.splat(0), a01 = a00, a02 = a00, a03 = a00;
      let wp = w + kb;
      for (let jb: usize = 0; jb < jEnd; jb += 4) {
        const d = v128.load32_splat(d0 + jb);
        a00 = mulAdd(a00, d, v128.load(wp)); a01 = mulAdd(a01, d, v128.load(wp, 16));
        a02 = mulAdd(a02, d, v128.load(wp, 32)); a03 = mulAdd(a03, d, v128.load(wp, 48));
        wp += nb;
      }
      v128.store(x0, a00); v128.store(x0, a01, 16); v128.store(x0, a02, 32); v128.store(x0, a03, 48);
    }
  }
  // remaining 4-column chunks, then single columns
  for (; kb < k4; kb += 16) {
    for (let r: usize = 0; r < R; r++) {
      const d0 = dy + r * mb;
      let a0 = f32x4.splat(0);
      let wp = w + kb;
      for (let jb: usize = 0; jb < jEnd; jb += 4) {
        a0 = mulAdd(a0, v128.load32_splat(d0 + jb), v128.load(wp));
        wp += nb;
      }
      v128.store(dx + r * nb + kb, a0);
    }
  }
  for (; kb < ke; kb += 4) {
    for (let r: usize = 0; r < R; r++) dxScalar(dy + r * mb, w + kb, dx + r * nb + kb, nb, M);
  }
}

/** one dx element: 0, then + dy[r,j]·W[j,k] for j ascending (dr: dy row, wk: &W[0,k]) */
@inline function dxScalar(dr: usize, wk: usize, out: usize, nb: usize, M: usize): void {
  let s: f32 = 0;
  for (let j: usize = 0; j < M; j++) s = s + load<f32>(dr + (j << 2)) * load<f32>(wk + j * nb);
  store<f32>(out, s);
}

// ---------------------------------------------------------------- denseGrads

/** accumulate = 0: the sums start from 0 instead of gW's and gb's values (the same bits as
 *  zeroing them first, without the pass over memory) */
let fresh = false;
@inline function acc(p: usize): v128 {
  return fresh ? f32x4.splat(0) : v128.load(p);
}
@inline function accS(p: usize): f32 {
  return fresh ? <f32>0 : load<f32>(p);
}

/** gW[j,k] += Σ_r dy[r,j]·x[r,k] and gb[j] += Σ_r dy[r,j], rows ascending (accumulate = 0:
 *  gW[j,k] = Σ…, gb[j] = Σ…) */
export function denseGrads(x: usize, dy: usize, gw: usize, gb: usize, rows: i32, n: i32, m: i32, accumulate: i32): void {
  fresh = accumulate == 0;
  const nb = <usize>n << 2, mb = <usize>m << 2;
  const M = <usize>m, R = <usize>rows;
  const k8 = (<usize>n & ~7) << 2, k4 = (<usize>n & ~3) << 2, ke = nb;
  const rEnd = R * nb;
  let j: usize = 0;
  // 4 outputs × 8 columns
  for (; j + 4 <= M; j += 4) {
    const g0 = gw + j * nb, dj = dy + (j << 2);
    let kb: usize = 0;
    for (; kb < k8; kb += 32) {
      const p0 = g0 + kb, p1 = p0 + nb, p2 = p1 + nb, p3 = p2 + nb;
      let a00 = acc(p0), a01 = acc(p0 + 16);
      let a10 = acc(p1), a11 = acc(p1 + 16);
      let a20 = acc(p2), a21 = acc(p2 + 16);
      let a30 = acc(p3), a31 = acc(p3 + 16);
      let dp = dj;
      for (let xb: usize = 0; xb < rEnd; xb += nb) {
        const xp = x + xb + kb;
        const v0 = v128.load(xp), v1 = v128.load(xp, 16);
        let d = v128.load32_splat(dp);
        a00 = mulAdd(a00, d, v0);
        a01 = mulAdd(a01, d, v1);
        d = v128.load32_splat(dp, 4);
        a10 = mulAdd(a10, d, v0);
        a11 = mulAdd(a11, d, v1);
        d = v128.load32_splat(dp, 8);
        a20 = mulAdd(a20, d, v0);
        a21 = mulAdd(a21, d, v1);
        d = v128.load32_splat(dp, 12);
        a30 = mulAdd(a30, d, v0);
        a31 = mulAdd(a31, d, v1);
        dp += mb;
      }
      v128.store(p0, a00); v128.store(p0, a01, 16);
      v128.store(p1, a10); v128.store(p1, a11, 16);
      v128.store(p2, a20); v128.store(p2, a21, 16);
      v128.store(p3, a30); v128.store(p3, a31, 16);
    }
    for (; kb < k4; kb += 16) {
      const p0 = g0 + kb, p1 = p0 + nb, p2 = p1 + nb, p3 = p2 + nb;
      let a0 = acc(p0), a1 = acc(p1), a2 = acc(p2), a3 = acc(p3);
      let dp = dj;
      for (let xb: usize = 0; xb < rEnd; xb += nb) {
        const v0 = v128.load(x + xb + kb);
        a0 = mulAdd(a0, v128.load32_splat(dp), v0);
        a1 = mulAdd(a1, v128.load32_splat(dp, 4), v0);
        a2 = mulAdd(a2, v128.load32_splat(dp, 8), v0);
        a3 = mulAdd(a3, v128.load32_splat(dp, 12), v0);
        dp += mb;
      }
      v128.store(p0, a0); v128.store(p1, a1); v128.store(p2, a2); v128.store(p3, a3);
    }
    for (; kb < ke; kb += 4) {
      for (let q: usize = 0; q < 4; q++) gwScalar(x + kb, dj + (q << 2), g0 + q * nb + kb, nb, mb, R);
    }
  }
  // remaining outputs one at a time
  for (; j < M; j++) {
    const g0 = gw + j * nb, dj = dy + (j << 2);
    let kb: usize = 0;
    for (; kb < k8; kb += 32) {
      const p0 = g0 + kb;
      let a00 = acc(p0), a01 = acc(p0 + 16);
      let dp = dj;
      for (let xb: usize = 0; xb < rEnd; xb += nb) {
        const xp = x + xb + kb;
        const d = v128.load32_splat(dp);
        a00 = mulAdd(a00, d, v128.load(xp));
        a01 = mulAdd(a01, d, v128.load(xp, 16));
        dp += mb;
      }
      v128.store(p0, a00); v128.store(p0, a01, 16);
    }
    for (; kb < k4; kb += 16) {
      const p0 = g0 + kb;
      let a0 = acc(p0);
      let dp = dj;
      for (let xb: usize = 0; xb < rEnd; xb += nb) {
        a0 = mulAdd(a0, v128.load32_splat(dp), v128.load(x + xb + kb));
        dp += mb;
      }
      v128.store(p0, a0);
    }
    for (; kb < ke; kb += 4) gwScalar(x + kb, dj, g0 + kb, nb, mb, R);
  }
  // gb[j] += Σ_r dy[r,j], four outputs per vector
  const m4 = (M & ~3) << 2;
  let jb: usize = 0;
  for (; jb < m4; jb += 16) {
    let a = acc(gb + jb);
    for (let r: usize = 0; r < R; r++) a = f32x4.add(a, v128.load(dy + r * mb + jb));
    v128.store(gb + jb, a);
  }
  for (; jb < mb; jb += 4) {
    let s = accS(gb + jb);
    for (let r: usize = 0; r < R; r++) s = s + load<f32>(dy + r * mb + jb);
    store<f32>(gb + jb, s);
  }
}

/** one gW element: + dy[r,j]·x[r,k] for r ascending (xk: &x[0,k], dj: &dy[0,j]) */
@inline function gwScalar(xk: usize, dj: usize, out: usize, nb: usize, mb: usize, R: usize): void {
  let s = accS(out);
  for (let r: usize = 0; r < R; r++) s = s + load<f32>(dj + r * mb) * load<f32>(xk + r * nb);
  store<f32>(out, s);
}
