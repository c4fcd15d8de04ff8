// The dataset as bytes: what the coordinator serves to workers and what its sha256 names.
// Layout (little-endian): the ASCII tag "gradwire-dataset-v2" and one zero byte, n, features,
// classes as uint32 (a 32-byte header), then x as float32 (n × features), then y as int32 (n).
// x and y start 4-byte aligned, so a worker's dataset is a view into the bytes it fetched or
// read from its cache (on a little-endian machine): no second copy of the data.
import { UserError } from '../errors.js';
import type { Dataset } from './dataset.js';

const TAG = new TextEncoder().encode('gradwire-dataset-v2');
const HEADER = 32;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function encodeDatasetBlob(d: Dataset): Uint8Array {
  const out = new Uint8Array(HEADER + d.n * d.features * 4 + d.n * 4);
  const v = new DataView(out.buffer);
  out.set(TAG, 0);
  v.setUint32(HEADER - 12, d.n, true);
  v.setUint32(HEADER - 8, d.features, true);
  v.setUint32(HEADER - 4, d.classes, true);
  let o = HEADER;
  for (let i = 0; i < d.x.length; i++, o += 4) v.setFloat32(o, d.x[i]!, true);
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
  if (bytes[TAG.length] !== 0) bad('not a gradwire dataset (wrong tag)');
  const n = v.getUint32(HEADER - 12, true);
  const features = v.getUint32(HEADER - 8, true);
  const classes = v.getUint32(HEADER - 4, true);
  const want = HEADER + n * features * 4 + n * 4;
  if (bytes.length !== want) bad(`has ${bytes.length} bytes, its header says ${want}`);
  const xOff = bytes.byteOffset + HEADER;
  const yOff = xOff + n * features * 4;
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
  for (let i = 0; i < n; i++) {
    const c = y[i]!;
    if (c < 0 || c >= classes) bad(`label ${c} of sample ${i} is outside 0..${classes - 1}`);
  }
  return { name, n, features, classes, x, y };
}
