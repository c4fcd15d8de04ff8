// Numbers of predict's output written as ASCII bytes straight into a reused Buffer: no string
// per number (formatting 11 numbers a row with toString filled V8's number-to-string cache and
// grew the peak memory with the input's size, and cost a third of the time).
//
// A probability p in [0, 1] is written as p rounded to 12 decimals, trailing zeros dropped:
// exactly the text of p.toFixed(12) without its trailing zeros ("0.25", "0.000000001234", "1",
// "0"); a tie rounds up, as toFixed does. Anything else (NaN from a diverged model) as String(p).

/** decimals of a probability */
export const PROBABILITY_DECIMALS = 12;
/** the most bytes one number takes (String(p) of any double is at most 24 characters) */
export const NUMBER_MAX_BYTES = 24;

const SCALE = 1e12;
const DIGIT0 = 0x30;
/** Veltkamp's splitter for float64: 2^27 + 1 */
const SPLITTER = 134217729;

/** The error of the float64 product a·b: a·b = fl(a·b) + productError(a, b, fl(a·b)) exactly
 *  (Dekker's TwoProduct; no over- or underflow here) */
function productError(a: number, b: number, p: number): number {
  let c = SPLITTER * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/** "00" … "99" as ASCII: two digits per division */
const PAIRS = Uint8Array.from({ length: 200 }, (_, i) => DIGIT0 + (i & 1 ? (i >> 1) % 10 : Math.floor(i / 20)));

/** n (an integer 0 ≤ n < 10^width ≤ 2^31) as exactly `width` digits at pos, in int32 arithmetic */
function digitsAt(buf: Uint8Array, pos: number, n: number, width: number): void {
  let i = pos + width;
  for (; i - pos >= 2; n = (n / 100) | 0) {
    const r = (n - ((n / 100) | 0) * 100) << 1;
    buf[--i] = PAIRS[r + 1]!;
    buf[--i] = PAIRS[r]!;
  }
  if (i > pos) buf[pos] = DIGIT0 + n;
}

/** p at buf[pos...]; returns the position after it (buf must have NUMBER_MAX_BYTES free) */
export function writeProbability(buf: Uint8Array, pos: number, p: number): number {
  if (!(p >= 0 && p <= 1)) return writeAscii(buf, pos, String(p));
  const t = p * SCALE;
  let q = Math.floor(t);
  const frac = t - q; // exact
  // round half up, decided exactly near a tie: p·10^12 ≥ q + 0.5 ⟺ (fl(p·10^12) − (q + 0.5)) + err ≥ 0
  if (Math.abs(frac - 0.5) < 1e-3 ? t - (q + 0.5) + productError(p, SCALE, t) >= 0 : frac > 0.5) q++;
  if (q === 0) {
    buf[pos] = DIGIT0;
    return pos + 1;
  }
  if (q >= SCALE) {
    buf[pos] = DIGIT0 + 1;
    return pos + 1;
  }
  buf[pos] = DIGIT0;
  buf[pos + 1] = 0x2e; // '.'
  const hi = Math.floor(q / 1e6);
  digitsAt(buf, pos + 2, hi, 6);
  digitsAt(buf, pos + 8, q - hi * 1e6, 6);
  let end = pos + 2 + PROBABILITY_DECIMALS;
  while (buf[end - 1] === DIGIT0) end--;
  return end;
}

/** a non-negative integer (< 2^53; int32 arithmetic below 2^31) at buf[pos...]; returns the
 *  position after it */
export function writeUint(buf: Uint8Array, pos: number, n: number): number {
  if (n >= 2 ** 31) return writeAscii(buf, pos, String(n));
  let len = 1;
  for (let v = n; v >= 10; v = (v / 10) | 0) len++;
  digitsAt(buf, pos, n, len);
  return pos + len;
}

/** ASCII text (one byte a character) at buf[pos...] */
export function writeAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos + i] = s.charCodeAt(i);
  return pos + s.length;
}

/** bytes (pre-encoded text such as a class name) at buf[pos...] */
export function writeBytes(buf: Uint8Array, pos: number, bytes: Uint8Array): number {
  if (bytes.length < 16) for (let i = 0; i < bytes.length; i++) buf[pos + i] = bytes[i]!;
  else buf.set(bytes, pos);
  return pos + bytes.length;
}
