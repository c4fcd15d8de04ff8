// The IDX format of the MNIST distribution (http://yann.lecun.com/exdb/mnist/), pure parsing:
//   bytes 0-1  0x00 0x00 (magic)
//   byte  2    data type: only 0x08 (unsigned byte) is supported
//   byte  3    number of dimensions d
//   then d big-endian uint32 sizes, then the data, row-major, exactly prod(sizes) bytes.
// Gzip is handled by the loader (coordinator/run/datasets.ts), not here.
import { UserError } from '../errors.js';
import { validateDataset, type Dataset } from './dataset.js';

export interface IdxArray {
  dims: number[];
  /** the data bytes after the header (a view into the input) */
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = {
  8: 'unsigned byte',
  9: 'signed byte',
  11: 'int16',
  12: 'int32',
  13: 'float32',
  14: 'float64',
};

const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;

function invalid(fileName: string, problem: string): never {
  throw new UserError('DATA_INVALID', `${fileName}: ${problem}`);
}

/** The first 4 bytes of an IDX file (magic, type 0x08, dimensions > 0) checked, with the
 *  sentence naming what is wrong; returns the number of dimensions. Also used by the readers
 *  that stream an IDX file (gradwire predict). */
export function checkIdxHead(head: Uint8Array, fileName: string): number {
  if (head[0] !== 0 || head[1] !== 0) {
    const gz = head[0] === 0x1f && head[1] === 0x8b ? ' (it looks gzip-compressed)' : '';
    invalid(fileName, `not an IDX file: magic bytes are ${hex(head[0]!)} ${hex(head[1]!)}, expected 0x00 0x00${gz}`);
  }
  const type = head[2]!;
  if (type !== 0x08) {
    const known = TYPE_NAMES[type] ? ` (${TYPE_NAMES[type]})` : '';
    invalid(fileName, `unsupported IDX data type ${hex(type)}${known}; only 0x08 (unsigned byte) is supported`);
  }
  const ndims = head[3]!;
  if (ndims === 0) invalid(fileName, 'IDX header declares 0 dimensions');
  return ndims;
}

/** Parse one IDX file of unsigned bytes. Trailing bytes after the data are an error too. */
export function parseIdx(bytes: Uint8Array, fileName: string): IdxArray {
  if (bytes.length < 4) {
    invalid(fileName, `truncated: an IDX header needs at least 4 bytes, file has ${bytes.length}`);
  }
  const ndims = checkIdxHead(bytes, fileName);
  const headerLen = 4 + 4 * ndims;
  if (bytes.length < headerLen) {
    invalid(
      fileName,
      `truncated: header declares ${ndims} dimensions (${headerLen} header bytes), file has ${bytes.length} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const have = bytes.length - headerLen;
  if (have < expected) {
    invalid(fileName, `truncated: header says ${dims.join('×')} = ${expected} bytes of data, file has ${have}`);
  }
  if (have > expected) {
    invalid(
      fileName,
      `header says ${dims.join('×')} = ${expected} bytes of data, but the file has ${have - expected} extra bytes after them`,
    );
  }
  return { dims, data: bytes.subarray(headerLen) };
}

/**
 * Images (n × d1 × d2 × ..., unsigned bytes) and labels (n, or n × 1) → a Dataset with
 * pixels scaled to [0, 1] (÷255), features = d1·d2·..., classes = max label + 1.
 */
export function datasetFromIdx(
  images: Uint8Array,
  labels: Uint8Array,
  names: { images: string; labels: string },
): Dataset {
  const img = parseIdx(images, names.images);
  const lab = parseIdx(labels, names.labels);
  if (img.dims.length < 2) {
    invalid(
      names.images,
      `an images file needs at least 2 dimensions (samples × features), header has ${img.dims.length}`,
    );
  }
  if (lab.dims.length > 2 || (lab.dims.length === 2 && lab.dims[1] !== 1)) {
    invalid(
      names.labels,
      `a labels file must have 1 dimension (one label per sample), header says ${lab.dims.join('×')}`,
    );
  }
  const n = img.dims[0]!;
  const features = img.dims.slice(1).reduce((a, b) => a * b, 1);
  if (n === 0) invalid(names.images, 'contains no images');
  if (features === 0) invalid(names.images, `images have 0 pixels (${img.dims.join('×')})`);
  if (lab.dims[0] !== n) {
    throw new UserError(
      'DATA_INVALID',
      `${names.labels}: label count mismatch: ${names.labels} has ${lab.dims[0]} labels but ${names.images} has ${n} images`,
    );
  }
  const x = new Float32Array(n * features);
  for (let i = 0; i < x.length; i++) x[i] = img.data[i]! / 255;
  const y = new Int32Array(n);
  let maxLabel = 0;
  for (let i = 0; i < n; i++) {
    y[i] = lab.data[i]!;
    if (y[i]! > maxLabel) maxLabel = y[i]!;
  }
  return validateDataset({ name: names.images, n, features, classes: maxLabel + 1, x, y });
}
