// The dataset blob a coordinator serves and a worker caches: its layout, a zero-copy decode,
// and errors that name the problem.
import { describe, expect, it } from 'vitest';
import { decodeDatasetBlob, encodeDatasetBlob } from '../../shared/data/blob.js';
import { rowInto, type Dataset } from '../../shared/data/dataset.js';
import { toyData } from '../helpers/fixtures.js';

// 300 distinct values: the float32 format (0)
const data = toyData(60, 5, 3);

describe('dataset blob', () => {
  it('lays out a 32-byte header (tag, format 0, n, features, classes) then x as float32 and y, little-endian', () => {
    const b = encodeDatasetBlob(data);
    expect(new TextDecoder().decode(b.subarray(0, 19))).toBe('gradwire-dataset-v2');
    const v = new DataView(b.buffer);
    expect([b[19], v.getUint32(20, true), v.getUint32(24, true), v.getUint32(28, true)]).toEqual([0, 60, 5, 3]);
    expect(b.length).toBe(32 + 60 * 5 * 4 + 60 * 4);
    expect(v.getFloat32(32 + 4 * 4, true)).toBe(data.x[4]);
    expect(v.getInt32(32 + 300 * 4 + 6 * 4, true)).toBe(data.y[6]);
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
    expect(() => decodeDatasetBlob(b.subarray(0, b.length - 4), 'toy')).toThrow(
      `dataset blob toy: has ${b.length - 4} bytes, its header says ${b.length}`,
    );
    const badLabel = b.slice();
    new DataView(badLabel.buffer).setInt32(32 + 300 * 4 + 2 * 4, 3, true);
    expect(() => decodeDatasetBlob(badLabel, 'toy')).toThrow('label 3 of sample 2 is outside 0..2');
  });

  describe('at most 256 distinct feature values, as image pixels (format 1: a table and 8-bit indices)', () => {
    // 5 samples × 3 features; 0 and -0 are two values (bit patterns), 1/3 has no short decimal
    const values = [0, -0, 0.004, 0.2, 1, 1 / 3, 0.992, 0.2, 0.004, 1, 0, 0.5, 0.25, 0.992, 1 / 3];
    const image: Dataset = {
      name: 'img',
      n: 5,
      features: 3,
      classes: 2,
      x: Float32Array.from(values),
      y: Int32Array.from([0, 1, 1, 0, 1]),
    };
    const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

    it('stores a 256-value table and one byte per feature (padded to 4); rows read back bit for bit', () => {
      const b = encodeDatasetBlob(image);
      expect(b[19]).toBe(1);
      expect(b.length).toBe(32 + 1024 + 16 + 5 * 4);
      const d = decodeDatasetBlob(b, 'img');
      expect(d.x.length).toBe(0);
      expect(d.xLevels!.length).toBe(15);
      expect(Array.from(d.y)).toEqual([0, 1, 1, 0, 1]);
      const row = new Float32Array(3);
      for (let s = 0; s < 5; s++) {
        rowInto(d, s, row, 0);
        expect(bitsOf(row)).toEqual(bitsOf(image.x.subarray(s * 3, s * 3 + 3)));
      }
      // encoding the decoded dataset again gives the same bytes (the same sha256 name)
      expect(Buffer.from(encodeDatasetBlob(d)).equals(Buffer.from(b))).toBe(true);
    });

    it('a dataset with more than 256 distinct values keeps the float32 format', () => {
      const many: Dataset = {
        name: 'many',
        n: 300,
        features: 1,
        classes: 1,
        x: Float32Array.from({ length: 300 }, (_, i) => i / 7),
        y: new Int32Array(300),
      };
      expect(encodeDatasetBlob(many)[19]).toBe(0);
      expect(encodeDatasetBlob({ ...many, n: 256, x: many.x.subarray(0, 256), y: many.y.subarray(0, 256) })[19]).toBe(
        1,
      );
    });

    it('an unknown format byte is an error naming it', () => {
      const b = encodeDatasetBlob(image);
      b[19] = 7;
      expect(() => decodeDatasetBlob(b, 'img')).toThrow(
        'dataset blob img: unknown x format 7 (this gradwire reads 0: float32, 1: a table of values and 8-bit indices)',
      );
    });
  });
});
