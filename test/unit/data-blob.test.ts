// The dataset blob a coordinator serves and a worker caches: its layout, a zero-copy decode,
// and errors that name the problem.
import { describe, expect, it } from 'vitest';
import { decodeDatasetBlob, encodeDatasetBlob } from '../../shared/data/blob.js';
import { toyData } from '../helpers/fixtures.js';

const data = toyData(7, 5, 3);

describe('dataset blob', () => {
  it('lays out a 32-byte header (tag, zero, n, features, classes) then x and y, little-endian', () => {
    const b = encodeDatasetBlob(data);
    expect(new TextDecoder().decode(b.subarray(0, 19))).toBe('gradwire-dataset-v2');
    const v = new DataView(b.buffer);
    expect([b[19], v.getUint32(20, true), v.getUint32(24, true), v.getUint32(28, true)]).toEqual([0, 7, 5, 3]);
    expect(b.length).toBe(32 + 7 * 5 * 4 + 7 * 4);
    expect(v.getFloat32(32 + 4 * 4, true)).toBe(data.x[4]);
    expect(v.getInt32(32 + 35 * 4 + 6 * 4, true)).toBe(data.y[6]);
  });

  it('decodes to the same numbers as views into the bytes (no copy of the data)', () => {
    const b = encodeDatasetBlob(data);
    const d = decodeDatasetBlob(b, 'toy');
    expect(Array.from(d.x)).toEqual(Array.from(data.x));
    expect(Array.from(d.y)).toEqual(Array.from(data.y));
    expect(d.x.buffer).toBe(b.buffer);
    expect(d.y.buffer).toBe(b.buffer);
  });

  it('copies when the bytes are not 4-byte aligned, with the same numbers', () => {
    const b = encodeDatasetBlob(data);
    const shifted = new Uint8Array(b.length + 1).subarray(1);
    shifted.set(b);
    const d = decodeDatasetBlob(shifted, 'toy');
    expect(d.x.buffer).not.toBe(shifted.buffer);
    expect(Array.from(d.x)).toEqual(Array.from(data.x));
    expect(Array.from(d.y)).toEqual(Array.from(data.y));
  });

  it('names what is wrong: the tag, the length, a label out of range', () => {
    const b = encodeDatasetBlob(data);
    const old = b.slice();
    old.set(new TextEncoder().encode('gradwire-dataset-v1'));
    expect(() => decodeDatasetBlob(old, 'toy')).toThrow('dataset blob toy: not a gradwire dataset (wrong tag)');
    expect(() => decodeDatasetBlob(b.subarray(0, b.length - 4), 'toy')).toThrow(`dataset blob toy: has ${b.length - 4} bytes, its header says ${b.length}`);
    const badLabel = b.slice();
    new DataView(badLabel.buffer).setInt32(32 + 35 * 4 + 2 * 4, 3, true);
    expect(() => decodeDatasetBlob(badLabel, 'toy')).toThrow('label 3 of sample 2 is outside 0..2');
  });
});
