// The dataset as bytes: what the coordinator serves to workers and what its sha256 names.
// Layout (little-endian): the ASCII tag "gradwire-dataset-v1", n, features, classes as
// uint32, then x as float32 (n × features), then y as int32 (n).
import { UserError } from '../errors.js';
import type { Dataset } from './dataset.js';

const TAG = new TextEncoder().encode('gradwire-dataset-v1');
const HEADER = TAG.length + 12;

export function encodeDatasetBlob(d: Dataset): Uint8Array {
  const out = new Uint8Array(HEADER + d.n * d.features * 4 + d.n * 4);
  const v = new DataView(out.buffer);
  out.set(TAG, 0);
  v.setUint32(TAG.length, d.n, true);
  v.setUint32(TAG.length + 4, d.features, true);
  v.setUint32(TAG.length + 8, d.classes, true);
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
  const n = v.getUint32(TAG.length, true);
  const features = v.getUint32(TAG.length + 4, true);
  const classes = v.getUint32(TAG.length + 8, true);
  const want = HEADER + n * features * 4 + n * 4;
  if (bytes.length !== want) bad(`has ${bytes.length} bytes, its header says ${want}`);
  const x = new Float32Array(n * features);
  const y = new Int32Array(n);
  let o = HEADER;
  for (let i = 0; i < x.length; i++, o += 4) x[i] = v.getFloat32(o, true);
  for (let i = 0; i < n; i++, o += 4) {
    const c = v.getInt32(o, true);
    if (c < 0 || c >= classes) bad(`label ${c} of sample ${i} is outside 0..${classes - 1}`);
    y[i] = c;
  }
  return { name, n, features, classes, x, y };
}
