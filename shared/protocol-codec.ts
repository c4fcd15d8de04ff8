// The wire protocol's codec: a message to frame parts (plain msgpack, or an envelope whose
// large Float32Arrays travel as raw payloads), sending them as one WebSocket message, and a
// frame back to a message, checked against the message schemas (protocol-messages.ts) with
// errors that say what is wrong; the frame size limit.
import { Packr } from 'msgpackr';
import type { z } from 'zod';
import { UserError } from './errors.js';
import {
  type ErrorCode,
  type ToCoordinator,
  type ToWorker,
  toCoordinatorSchema,
  toWorkerSchema,
} from './protocol-messages.js';

/** Largest frame either side accepts (weights of a 2M-parameter model fit with room). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** The frame size limit a side enforces: MAX_FRAME_BYTES, or the value of the environment
 *  variable GRADWIRE_MAX_FRAME_BYTES (tests lower it), which each side reads and passes here. */
export function frameLimit(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return MAX_FRAME_BYTES;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1024 || n > 1024 ** 3) {
    throw new UserError(
      'USAGE',
      `GRADWIRE_MAX_FRAME_BYTES: "${raw}" must be a whole number of bytes from 1024 to ${1024 ** 3}`,
    );
  }
  return n;
}

// ---- codec --------------------------------------------------------------------------------
//
// A frame is plain msgpack, or — when the message carries a large Float32Array (weights,
// gradient blocks) — an envelope that keeps those arrays out of msgpack:
//
//   byte 0      0xC1 (a byte msgpack never uses, so the two forms cannot be confused)
//   bytes 1–3   0
//   bytes 4–7   header length H, uint32 little-endian
//   bytes 8…    the msgpack header: the message with each large array replaced by
//               { [BIN]: [offset, length] } (offset in bytes from the payload section)
//   then        zero padding to a multiple of 8, then the payload section: each array's raw
//               little-endian float32 bytes, each starting at a multiple of 8
//
// The payloads travel as they are (no encoding, no copy into a msgpack buffer) and are read
// back as views of the received frame when aligned.

const packr = new Packr({ moreTypes: true, useRecords: false, structuredClone: false });

/** Float32Arrays at least this long travel as raw payloads. */
const RAW_MIN_LENGTH = 256;
const ENVELOPE = 0xc1;
const BIN = '$gw-f32';
const align8 = (n: number): number => (n + 7) & ~7;

/** Encode a message as frame parts: the first holds the header, the others are payloads (views
 *  of the message's own arrays, not copies: they must not change until sent). Concatenated, the
 *  parts are the frame; they can also go out as the fragments of one WebSocket message. Plain
 *  Uint8Arrays (no Buffer), so the browser's worker encodes with the same code. */
export function encodeParts(message: ToWorker | ToCoordinator): Uint8Array[] {
  const payloads: Uint8Array[] = [];
  let offset = 0;
  const strip = (v: unknown, depth: number): unknown => {
    if (v instanceof Float32Array && v.length >= RAW_MIN_LENGTH) {
      const at = offset;
      payloads.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      offset += align8(v.byteLength);
      if (v.byteLength % 8) payloads.push(new Uint8Array(4));
      return { [BIN]: [at, v.length] };
    }
    if (depth > 4 || v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return v;
    if (Array.isArray(v)) return v.map((x) => strip(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = strip(x, depth + 1);
    return out;
  };
  const stripped = strip(message, 0);
  if (payloads.length === 0) return [packr.pack(message)];
  const header = packr.pack(stripped);
  const head = new Uint8Array(align8(8 + header.byteLength));
  head[0] = ENVELOPE;
  new DataView(head.buffer).setUint32(4, header.byteLength, true);
  head.set(header, 8);
  return [head, ...payloads];
}

/** The frame parts as one array (one copy; a single part is returned as it is): a view of `into`
 *  when it is large enough, else a new array. */
export function concatParts(parts: Uint8Array[], into?: Uint8Array): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const n = parts.reduce((s, p) => s + p.byteLength, 0);
  const out = into && into.byteLength >= n ? into.subarray(0, n) : new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export function encode(message: ToWorker | ToCoordinator): Uint8Array {
  return concatParts(encodeParts(message));
}

/** Send frame parts as one WebSocket message (its fragments, so payloads are not copied). */
export function sendParts(
  ws: { send(data: Uint8Array, options: { binary: boolean; fin: boolean }): void },
  parts: Uint8Array[],
  counted?: (bytes: number) => void,
): void {
  let n = 0;
  parts.forEach((p, i) => {
    n += p.byteLength;
    ws.send(p, { binary: true, fin: i === parts.length - 1 });
  });
  counted?.(n);
}

/** Unpack a frame (either form) into the raw message, payload arrays restored. */
function unpackFrame(data: Uint8Array): unknown {
  if (data[0] !== ENVELOPE) return packr.unpack(data);
  if (data.byteLength < 8) throw new Error('envelope shorter than its 8-byte prefix');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const h = view.getUint32(4, true);
  if (8 + h > data.byteLength)
    throw new Error(`envelope header of ${h} bytes overruns the frame of ${data.byteLength}`);
  const base = align8(8 + h);
  const section = Math.max(0, data.byteLength - base);
  const restore = (v: unknown, depth: number): unknown => {
    if (depth > 5 || v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return v;
    if (Array.isArray(v)) return v.map((x) => restore(x, depth + 1));
    const o = v as Record<string, unknown>;
    if (BIN in o) {
      const ref = o[BIN];
      if (!Array.isArray(ref) || ref.length !== 2 || !ref.every((x) => Number.isSafeInteger(x) && x >= 0))
        throw new Error('malformed payload reference');
      const [at, length] = ref as [number, number];
      if (at % 8 !== 0 || at + 4 * length > section)
        throw new Error(`payload [${at}, ${length} floats] outside the payload section of ${section} bytes`);
      const start = data.byteOffset + base + at;
      // a view of the frame when aligned (the usual case), else a copy
      return start % 4 === 0
        ? new Float32Array(data.buffer, start, length)
        : new Float32Array(new Uint8Array(data.buffer, start, 4 * length).slice().buffer);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = restore(x, depth + 1);
    return out;
  };
  return restore(packr.unpack(data.subarray(8, 8 + h)), 0);
}

export class FrameError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(frame)'}: ${i.message}`)
    .join('; ');
}

function decodeWith<T>(schema: z.ZodType<T>, data: Uint8Array, maxBytes: number): T {
  if (data.byteLength > maxBytes) {
    throw new FrameError('E_BAD_FRAME', `frame of ${data.byteLength} bytes exceeds the limit of ${maxBytes}`);
  }
  let raw: unknown;
  try {
    raw = unpackFrame(data);
  } catch (e) {
    throw new FrameError('E_BAD_FRAME', `frame is not valid msgpack (${(e as Error).message})`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const t = (raw as { type?: unknown } | null)?.type;
    throw new FrameError(
      'E_BAD_FRAME',
      `invalid ${typeof t === 'string' ? `"${t.slice(0, 40)}" ` : ''}message: ${describeIssues(r.error)}`,
    );
  }
  return r.data;
}

export function decodeToWorker(data: Uint8Array, maxBytes = MAX_FRAME_BYTES): ToWorker {
  return decodeWith(toWorkerSchema, data, maxBytes);
}

export function decodeToCoordinator(data: Uint8Array, maxBytes = MAX_FRAME_BYTES): ToCoordinator {
  return decodeWith(toCoordinatorSchema, data, maxBytes);
}
