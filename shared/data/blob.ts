// The dataset as bytes: what the coordinator serves to workers and what its sha256 names.
// Layout (little-endian): the ASCII tag "gradwire-dataset-v2", a format byte, n, features,
// classes as uint32 (a 32-byte header), then x, then y as int32 (n). Format 0: x as float32
// (n × features). Format 1, when x has at most 256 distinct values (images such as MNIST): a
// table of 256 float32 values (the distinct ones, ascending by bit pattern, zero-padded), then
// x as uint8 indices into it, padded to a multiple of 4 bytes: about a quarter of the bytes,
// the same float32 values bit for bit. Every section starts 4-byte aligned, so a worker's
// dataset is a view into the bytes it fetched or read from its cache (little-endian): no
// second copy.
import { UserError } from '../errors.js';
import type { Dataset } from './dataset.js';

const TAG = new TextEncoder().encode('gradwire-dataset-v2');
const HEADER = 32;
const TABLE = 256;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** x as a table of its distinct values and indices into it, or null when there are more
 *  than 256 (values compared bit for bit: 0 and -0 are two values) */
function tableOf(x: Float32Array): { table: Float32Array; levels: Uint8Array } | null {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const seen = new Set<number>();
  for (let i = 0; i < bits.length; i++) {
    seen.add(bits[i]!);
    if (seen.size > TABLE) return null;
  }
  const sorted = [...seen].sort((a, b) => a - b);
  const tableBits = new Uint32Array(TABLE);
  tableBits.set(sorted);
  const index = new Map(sorted.map((b, i) => [b, i]));
  const levels = new Uint8Array(x.length);
  for (let i = 0; i < bits.length; i++) levels[i] = index.get(bits[i]!)!;
  return { table: new Float32Array(tableBits.buffer), levels };
}

export function encodeDatasetBlob(d: Dataset): Uint8Array {
  const compact = d.xLevels && d.xTable ? { table: d.xTable, levels: d.xLevels } : tableOf(d.x);
  const xBytes = compact ? TABLE * 4 + ((compact.levels.length + 3) & ~3) : d.n * d.features * 4;
  const out = new Uint8Array(HEADER + xBytes + d.n * 4);
  const v = new DataView(out.buffer);
  out.set(TAG, 0);
  out[TAG.length] = compact ? 1 : 0;
  v.setUint32(HEADER - 12, d.n, true);
  v.setUint32(HEADER - 8, d.features, true);
  v.setUint32(HEADER - 4, d.classes, true);
  let o = HEADER;
  if (compact) {
    for (let i = 0; i < TABLE; i++) v.setFloat32(o + 4 * i, compact.table[i]!, true);
    out.set(compact.levels, o + TABLE * 4);
  } else {
    for (let i = 0; i < d.x.length; i++) v.setFloat32(o + 4 * i, d.x[i]!, true);
  }
  o += xBytes;
  for (let i = 0; i < d.y.length; i++, o += 4) v.setInt32(o, d.y[i]!, true);
  return out;
}

export function decodeDatasetBlob(bytes: Uint8Array, name: string): Dataset {
  const bad = (why: string): never => {
    throw new UserError('DATA_INVALID', `dataset blob ${name}: ${why}`);
  };
  if (bytes.length < HEADER) bad('too short for its header');
  for (let i = 0; i < TAG.length; i++) if (bytes[i] !== TAG[i]) bad('not a gradwire dataset (wrong tag)');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const format = bytes[TAG.length];
  if (format !== 0 && format !== 1)
    bad(`unknown x format ${format} (this gradwire reads 0: float32, 1: a table of values and 8-bit indices)`);
  const n = v.getUint32(HEADER - 12, true);
  const features = v.getUint32(HEADER - 8, true);
  const classes = v.getUint32(HEADER - 4, true);
  const xBytes = format === 1 ? TABLE * 4 + ((n * features + 3) & ~3) : n * features * 4;
  const want = HEADER + xBytes + n * 4;
  if (bytes.length !== want) bad(`has ${bytes.length} bytes, its header says ${want}`);
  const xOff = bytes.byteOffset + HEADER;
  const yOff = xOff + xBytes;
  if (format === 1) {
    const y =
      LITTLE_ENDIAN && yOff % 4 === 0
        ? new Int32Array(bytes.buffer, yOff, n)
        : Int32Array.from({ length: n }, (_, i) => v.getInt32(HEADER + xBytes + 4 * i, true));
    checkLabels(y, classes, bad);
    const xTable = Float32Array.from({ length: TABLE }, (_, i) => v.getFloat32(HEADER + 4 * i, true));
    return {
      name,
      n,
      features,
      classes,
      x: new Float32Array(0),
      xTable,
      xLevels: bytes.subarray(HEADER + TABLE * 4, HEADER + TABLE * 4 + n * features),
      y,
    };
  }
  let x: Float32Array;
  let y: Int32Array;
  if (LITTLE_ENDIAN && xOff % 4 === 0) {
    x = new Float32Array(bytes.buffer, xOff, n * features);
    y = new Int32Array(bytes.buffer, yOff, n);
  } else {
    x = new Float32Array(n * features);
    y = new Int32Array(n);
    for (let i = 0, o = HEADER; i < x.length; i++, o += 4) x[i] = v.getFloat32(o, true);
    for (let i = 0, o = HEADER + n * features * 4; i < n; i++, o += 4) y[i] = v.getInt32(o, true);
  }
  checkLabels(y, classes, bad);
  return { name, n, features, classes, x, y };
}

function checkLabels(y: Int32Array, classes: number, bad: (why: string) => never): void {
  for (let i = 0; i < y.length; i++) {
    const c = y[i]!;
    if (c < 0 || c >= classes) bad(`label ${c} of sample ${i} is outside 0..${classes - 1}`);
  }
}
