// An independent safetensors reader for the tests, written from the format's description
// (https://github.com/huggingface/safetensors, "Format"), not from gradwire's writer: 8 bytes of
// header length N (unsigned little-endian 64-bit), N bytes of UTF-8 JSON — `name: { dtype,
// shape, data_offsets: [begin, end) }` per tensor and a `__metadata__` of strings — then the
// tensors' bytes. Every rule of the format it checks is an expect.
import { expect } from 'vitest';

export interface Tensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

const DTYPE_SIZE: Record<string, number> = { F32: 4, I64: 8, F16: 2, BF16: 2, F64: 8, I32: 4, U8: 1 };

/** an independent safetensors reader: header, metadata and tensors in header order */
export function readSafetensors(file: Uint8Array): { metadata: Record<string, string>; tensors: Map<string, Tensor> } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n = view.getBigUint64(0, true);
  expect(n).toBeLessThan(BigInt(file.length - 8 + 1));
  const headerLen = Number(n);
  const text = new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + headerLen));
  expect(text.startsWith('{')).toBe(true);
  // the data starts 8-byte aligned (the header is padded with spaces)
  expect((8 + headerLen) % 8).toBe(0);
  expect(text.trimEnd().length).toBeGreaterThan(0);
  const header = JSON.parse(text) as Record<string, unknown>;
  const data = file.subarray(8 + headerLen);
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  for (const v of Object.values(metadata)) expect(typeof v).toBe('string');
  const tensors = new Map<string, Tensor>();
  const spans: Array<[number, number]> = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const t = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [begin, end] = t.data_offsets;
    const size = DTYPE_SIZE[t.dtype];
    expect(size, `dtype of ${name}`).toBeDefined();
    expect(end - begin, `${name}: its offsets span its shape`).toBe(t.shape.reduce((a, b) => a * b, 1) * size!);
    expect(begin % size!, `${name} is aligned`).toBe(0);
    spans.push([begin, end]);
    tensors.set(name, { dtype: t.dtype, shape: t.shape, bytes: data.subarray(begin, end) });
  }
  // the tensors cover the data exactly, without holes or overlaps
  spans.sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [b, e] of spans) {
    expect(b).toBe(at);
    at = e;
  }
  expect(at).toBe(data.length);
  return { metadata, tensors };
}

/** an F32 tensor's values (little-endian float32) */
export function f32Values(t: Tensor): Float32Array {
  expect(t.dtype).toBe('F32');
  const v = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  return Float32Array.from({ length: t.bytes.length / 4 }, (_, i) => v.getFloat32(4 * i, true));
}
