// predict's output rows as text (coordinator/model/predict.ts), the same bytes as its JS writer
// (coordinator/model/format.ts) to the byte: a probability p in [0, 1] as p rounded to 12
// decimals with a tie rounding up, trailing zeros dropped (p.toFixed(12) without them). Here
// because predict runs once per process: its JS writer ran cold (interpreted) for most of a
// 10,000-row input, where this code is compiled before its first call. The arithmetic is
// format.ts's in float64 and int32/int64, which WebAssembly and JavaScript round alike.

const SCALE: f64 = 1e12;
const SPLITTER: f64 = 134217729; // 2^27 + 1
const DIGIT0: u8 = 0x30;

/** the error of the float64 product a·b = p (Dekker's TwoProduct, as format.ts) */
@inline function productError(a: f64, b: f64, p: f64): f64 {
  let c = SPLITTER * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/** n (< 10^width) as exactly `width` digits ending before `end` */
@inline function digitsBefore(end: usize, n: u32, width: i32): void {
  for (let i = 0; i < width; i++) {
    const d = n / 10;
    store<u8>(end - 1 - i, <u8>(DIGIT0 + <u8>(n - d * 10)));
    n = d;
  }
}

/** p (in [0, 1]) at out; returns the end */
function probability(out: usize, p: f64): usize {
  const t = p * SCALE;
  let q = Math.floor(t);
  const frac = t - q;
  if (Math.abs(frac - 0.5) < 1e-3 ? t - (q + 0.5) + productError(p, SCALE, t) >= 0 : frac > 0.5) q += 1;
  if (q == 0) {
    store<u8>(out, DIGIT0);
    return out + 1;
  }
  if (q >= SCALE) {
    store<u8>(out, DIGIT0 + 1);
    return out + 1;
  }
  store<u8>(out, DIGIT0);
  store<u8>(out, 0x2e, 1); // '.'
  const hi = Math.floor(q / 1e6);
  digitsBefore(out + 8, <u32>hi, 6);
  digitsBefore(out + 14, <u32>(q - hi * 1e6), 6);
  let end = out + 14;
  while (load<u8>(end - 1) == DIGIT0) end--;
  return end;
}

/** a non-negative integer (< 2^53) at out; returns the end */
function unsigned(out: usize, n: u64): usize {
  let len: usize = 1;
  for (let v = n; v >= 10; v /= 10) len++;
  for (let i: usize = 1; i <= len; i++) {
    const d = n / 10;
    store<u8>(out + len - i, <u8>(DIGIT0 + <u8>(n - d * 10)));
    n = d;
  }
  return out + len;
}

/** the text piece i of the table (offset, length pairs of int32 into `text`) at out */
@inline function piece(out: usize, text: usize, pieces: usize, i: i32): usize {
  const at = pieces + (<usize>i << 3);
  const len = <usize>load<i32>(at, 4);
  memory.copy(out, text + <usize>load<i32>(at), len);
  return out + len;
}

/** Rows `firstRow`.. of predictions as text at out; returns the bytes written, or −1 when a
 *  probability is not in [0, 1] (NaN from a diverged model: the caller writes those rows) or
 *  a predicted class is not one of the classes.
 *  probs: rows × classes float64; predicted: rows int32. The pieces (offset, length) of `text`,
 *  by index: 0 before the first row, 1 before each other row, 2 after the row number, then the
 *  predicted class's name (3 + c), 3 + C before its probability, 4 + C before the list of all,
 *  5 + C + c before class c's, 5 + 2C after the row. */
export function formatRows(
  probs: usize,
  predicted: usize,
  rows: i32,
  classes: i32,
  firstRow: f64,
  text: usize,
  pieces: usize,
  out: usize,
): i32 {
  const C = classes;
  let o = out;
  for (let r = 0; r < rows; r++) {
    const pr = probs + (<usize>(r * C) << 3);
    const k = load<i32>(predicted + (<usize>r << 2));
    if (<u32>k >= <u32>C) return -1;
    const row = firstRow + <f64>r;
    o = piece(o, text, pieces, row == 1 ? 0 : 1);
    o = unsigned(o, <u64>row);
    o = piece(o, text, pieces, 2);
    o = piece(o, text, pieces, 3 + k);
    o = piece(o, text, pieces, 3 + C);
    const pk = load<f64>(pr + (<usize>k << 3));
    if (!(pk >= 0 && pk <= 1)) return -1;
    o = probability(o, pk);
    o = piece(o, text, pieces, 4 + C);
    for (let c = 0; c < C; c++) {
      o = piece(o, text, pieces, 5 + C + c);
      const p = load<f64>(pr + (<usize>c << 3));
      if (!(p >= 0 && p <= 1)) return -1;
      o = probability(o, p);
    }
    o = piece(o, text, pieces, 5 + 2 * C);
  }
  return <i32>(o - out);
}
