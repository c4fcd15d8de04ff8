// IDX parsing against hand-written bytes: the layout of the MNIST distribution files
// (magic 00 00, type 08 = unsigned byte, ndims, big-endian uint32 dims, data), raw and gzipped,
// and one test per error, each with its exact message.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../coordinator/run/datasets.js';
import type { DataConfig } from '../../shared/config-types.js';
import { datasetFromIdx, parseIdx } from '../../shared/data/idx.js';
import { userError } from '../helpers/errors.js';

// 3 images of 2×2 pixels.
const IMAGES = new Uint8Array([
  0x00,
  0x00,
  0x08,
  0x03, // magic, ubyte, 3 dims
  0x00,
  0x00,
  0x00,
  0x03, // 3 images
  0x00,
  0x00,
  0x00,
  0x02, // 2 rows
  0x00,
  0x00,
  0x00,
  0x02, // 2 columns
  0,
  255,
  51,
  102, //        image 0
  255,
  255,
  0,
  0, //         image 1
  153,
  204,
  1,
  254, //       image 2
]);
const LABELS = new Uint8Array([
  0x00,
  0x00,
  0x08,
  0x01, // magic, ubyte, 1 dim
  0x00,
  0x00,
  0x00,
  0x03, // 3 labels
  2,
  0,
  4,
]);
// pixel / 255, written out
const EXPECTED_X = [0, 1, 0.2, 0.4, 1, 1, 0, 0, 0.6, 0.8, 1 / 255, 254 / 255];

const dir = mkdtempSync(join(tmpdir(), 'gradwire-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function idxConfig(images: string, labels: string): DataConfig {
  return { name: 'idx', split: [0.8, 0.1, 0.1], images, labels, samples: 0, classes: 0, noise: 0 };
}

function expectTheThreeImages(d: ReturnType<typeof datasetFromIdx>): void {
  expect(d.n).toBe(3);
  expect(d.features).toBe(4);
  expect(d.classes).toBe(5); // max label 4 + 1
  expect([...d.y]).toEqual([2, 0, 4]);
  expect(d.x.length).toBe(12);
  EXPECTED_X.forEach((v, i) => expect(d.x[i]).toBeCloseTo(v, 6));
}

describe('parseIdx', () => {
  it('reads the big-endian dims and returns the data bytes after the header', () => {
    const a = parseIdx(IMAGES, 'images.idx');
    expect(a.dims).toEqual([3, 2, 2]);
    expect([...a.data]).toEqual([0, 255, 51, 102, 255, 255, 0, 0, 153, 204, 1, 254]);
  });

  it('reads dims above 255 (60000 = 0x0000EA60)', () => {
    const bytes = new Uint8Array([0, 0, 8, 1, 0x00, 0x00, 0xea, 0x60, ...new Array<number>(60000).fill(7)]);
    expect(parseIdx(bytes, 'l.idx').dims).toEqual([60000]);
  });
});

describe('datasetFromIdx', () => {
  it('scales pixels to [0, 1], flattens each image, classes = max label + 1', () => {
    expectTheThreeImages(datasetFromIdx(IMAGES, LABELS, { images: 'i.idx', labels: 'l.idx' }));
  });

  it('loads raw files through loadDataset, paths relative to baseDir', () => {
    writeFileSync(join(dir, 'raw-images.idx'), IMAGES);
    writeFileSync(join(dir, 'raw-labels.idx'), LABELS);
    expectTheThreeImages(loadDataset(idxConfig('raw-images.idx', 'raw-labels.idx'), dir, 1));
  });

  it('detects gzip by its magic bytes 1f 8b and inflates it, whatever the file name', () => {
    writeFileSync(join(dir, 'images.idx.gz'), gzipSync(IMAGES));
    writeFileSync(join(dir, 'labels-no-extension'), gzipSync(LABELS));
    const gz = loadDataset(idxConfig('images.idx.gz', 'labels-no-extension'), dir, 1);
    expectTheThreeImages(gz);
  });
});

describe('IDX errors', () => {
  it('wrong magic: says what was found and what was expected', () => {
    const bad = IMAGES.slice();
    bad[0] = 0x50;
    bad[1] = 0x4b; // a zip file's "PK"
    const e = userError(() => parseIdx(bad, 'train-images.idx'));
    expect(e.code).toBe('DATA_INVALID');
    expect(e.message).toBe('train-images.idx: not an IDX file: magic bytes are 0x50 0x4b, expected 0x00 0x00');
  });

  it('gzip bytes handed to the pure parser are recognised in the message', () => {
    const e = userError(() => parseIdx(gzipSync(IMAGES), 'x.idx'));
    expect(e.message).toBe(
      'x.idx: not an IDX file: magic bytes are 0x1f 0x8b, expected 0x00 0x00 (it looks gzip-compressed)',
    );
  });

  it('unsupported type byte', () => {
    const bad = IMAGES.slice();
    bad[2] = 0x0d;
    expect(userError(() => parseIdx(bad, 'f.idx')).message).toBe(
      'f.idx: unsupported IDX data type 0x0d (float32); only 0x08 (unsigned byte) is supported',
    );
  });

  it('file shorter than its header says', () => {
    const bytes = new Uint8Array(16 + 1000);
    bytes.set([0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28]); // 60000×28×28
    const e = userError(() => parseIdx(bytes, 'train-images.idx'));
    expect(e.code).toBe('DATA_INVALID');
    expect(e.message).toBe(
      'train-images.idx: truncated: header says 60000×28×28 = 47040000 bytes of data, file has 1000',
    );
  });

  it('file shorter than the dims of its header', () => {
    expect(userError(() => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0]), 'h.idx')).message).toBe(
      'h.idx: truncated: header declares 3 dimensions (16 header bytes), file has 7 bytes',
    );
  });

  it('extra bytes after the data', () => {
    const bytes = new Uint8Array([...LABELS, 9]);
    expect(userError(() => parseIdx(bytes, 'l.idx')).message).toBe(
      'l.idx: header says 3 = 3 bytes of data, but the file has 1 extra bytes after them',
    );
  });

  it('label count differs from image count', () => {
    const twoLabels = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 1, 1]);
    const e = userError(() =>
      datasetFromIdx(IMAGES, twoLabels, { images: 'train-images.idx', labels: 'train-labels.idx' }),
    );
    expect(e.code).toBe('DATA_INVALID');
    expect(e.message).toBe(
      'train-labels.idx: label count mismatch: train-labels.idx has 2 labels but train-images.idx has 3 images',
    );
  });

  it('a missing file is DATA_NOT_FOUND with the absolute path', () => {
    writeFileSync(join(dir, 'present-labels.idx'), LABELS);
    const e = userError(() => loadDataset(idxConfig('nope/images.idx', 'present-labels.idx'), dir, 1));
    expect(e.code).toBe('DATA_NOT_FOUND');
    expect(e.message).toBe(`data.images: file not found: ${join(dir, 'nope', 'images.idx')}`);
  });

  it('a corrupt gzip file is a clear DATA_INVALID', () => {
    const gz = gzipSync(IMAGES);
    writeFileSync(join(dir, 'corrupt.gz'), gz.subarray(0, 12));
    writeFileSync(join(dir, 'ok-labels.idx'), LABELS);
    const e = userError(() => loadDataset(idxConfig('corrupt.gz', 'ok-labels.idx'), dir, 1));
    expect(e.code).toBe('DATA_INVALID');
    expect(e.message).toMatch(/^data\.images: .*corrupt\.gz starts like a gzip file but cannot be decompressed: /);
  });
});
