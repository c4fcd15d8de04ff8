// The wire protocol between coordinator and workers: every message type, declared once for
// both sides as a discriminated union on `type`, with runtime validation of every incoming
// frame and the msgpack codec. shared/PROTOCOL.md lists the messages and the flow.
import { Packr } from 'msgpackr';
import { z } from 'zod';
import { UserError } from './errors.js';
import { USES_RUNTIME_MATH } from './kernels/runtime-math.js';

/** 3: hello.runtime carries kernelBuild and math; the handshake compares what determines the
 *  bits instead of the V8 version. 2: envelope frames and the params message. */
export const PROTOCOL_VERSION = 3;

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

/** WebSocket close codes (4000–4999 are for applications). */
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  MESSAGE_TOO_BIG: 1009,
  PROTOCOL_VERSION: 4001,
  AUTH_FAILED: 4002,
  BAD_FRAME: 4003,
  UNEXPECTED_MESSAGE: 4004,
  BAD_RESULT: 4005,
  INCOMPATIBLE: 4006,
  HEARTBEAT_TIMEOUT: 4007,
  SHUTDOWN: 4008,
} as const;

/** Stable error codes carried in `error` messages and logs. */
export type ErrorCode =
  | 'E_PROTOCOL_VERSION'
  | 'E_AUTH'
  | 'E_BAD_FRAME'
  | 'E_UNEXPECTED'
  | 'E_BAD_RESULT'
  | 'E_NON_FINITE'
  | 'E_INCOMPATIBLE'
  | 'E_DATASET'
  | 'E_JOB';

const f32 = z.custom<Float32Array>((v) => v instanceof Float32Array, { message: 'expected a Float32Array' });
const f64 = z.custom<Float64Array>((v) => v instanceof Float64Array, { message: 'expected a Float64Array' });
const i32 = z.custom<Int32Array>((v) => v instanceof Int32Array, { message: 'expected an Int32Array' });
const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'expected binary bytes' });
const nat = z.number().int().nonnegative();
const anyNumber = z.custom<number>((v) => typeof v === 'number', { message: 'expected a number' });
const id = z.string().min(1).max(200);

export const runtimeSchema = z.object({
  node: z.string().max(100),
  v8: z.string().max(100),
  /** kernel variant: all workers of a job must compute with the same one */
  kernel: z.string().max(50),
  /** the kernel build: sha256 (hex) of kernels.wasm for wasm-simd, "" for js. Optional in the
   *  schema only so that an older worker's hello decodes and gets the protocol-version refusal;
   *  a hello of this protocol version must carry it. */
  kernelBuild: z.string().max(100).optional(),
  /** fingerprint of the runtime's elementary functions (shared/kernels/runtime-math.ts);
   *  optional like kernelBuild */
  math: z.string().max(100).optional(),
});
export type RuntimeInfo = z.infer<typeof runtimeSchema>;

/** Why a worker cannot join a job computed with `coordinator`'s kernels, or null when its results
 *  cannot differ. The rule (shared/kernels/runtime-math.ts has the audit behind it):
 *  1. the kernel variant must match (variants differ in the last bits);
 *  2. the kernel build must match (for wasm-simd: the sha256 of kernels.wasm, which fixes its
 *     results whatever the runtime);
 *  3. only for a variant that calls the runtime's elementary functions (js): the V8 version and
 *     the math fingerprint must match.
 *  So a worker on another Node.js release joins a wasm-simd job with the same kernel build. */
export function runtimeMismatch(
  coordinator: RuntimeInfo,
  worker: RuntimeInfo,
): { field: 'kernel' | 'kernelBuild' | 'v8' | 'math'; message: string } | null {
  const c = coordinator,
    w = worker;
  const shown = (v: string | undefined): string => (v === undefined ? '(not reported)' : v === '' ? '(none)' : v);
  if (w.kernel !== c.kernel) {
    return {
      field: 'kernel',
      message: `computes with kernel "${w.kernel}", this job uses "${c.kernel}": one job never mixes kernel variants (their float32 results differ in the last bits); start the worker with GRADWIRE_KERNELS=${c.kernel}`,
    };
  }
  if (w.kernelBuild !== c.kernelBuild) {
    return {
      field: 'kernelBuild',
      message:
        `runs another build of the ${c.kernel} kernels: kernel build ${shown(w.kernelBuild)}, the coordinator's is ${shown(c.kernelBuild)} ` +
        '(sha256 of shared/kernels/build/kernels.wasm); another build can give other bits, so exact results need the same one: run the same ' +
        'gradwire version on both sides, with kernels built by the same AssemblyScript (npm ci, or the same container image), and compare with ' +
        'sha256sum shared/kernels/build/kernels.wasm',
    };
  }
  const usesRuntime = (USES_RUNTIME_MATH as Record<string, boolean | undefined>)[c.kernel] ?? true;
  if (!usesRuntime) return null;
  if (w.v8 !== c.v8) {
    return {
      field: 'v8',
      message:
        `runs V8 ${w.v8} (Node ${w.node}); the coordinator runs V8 ${c.v8} (Node ${c.node}). The ${c.kernel} kernels call the runtime's ` +
        'Math.exp, Math.log, Math.tanh and friends, whose results may differ between V8 versions, so exact results need the same Node.js on ' +
        `every machine: run Node ${c.node} here, or the wasm-simd kernels everywhere (GRADWIRE_KERNELS=wasm-simd: they bring their own ` +
        'elementary functions and need only the same kernel build)',
    };
  }
  if (w.math !== c.math) {
    return {
      field: 'math',
      message:
        `its elementary functions (Math.exp, Math.log, Math.tanh, ...) give other results than the coordinator's, although both run V8 ${c.v8}: ` +
        `math fingerprint ${shown(w.math)}, the coordinator's ${shown(c.math)} (another CPU architecture or build of Node.js?). The ${c.kernel} kernels ` +
        'call them, so exact results need identical ones: run the workers on the same platform and Node.js build as the coordinator, or the ' +
        'wasm-simd kernels everywhere (GRADWIRE_KERNELS=wasm-simd)',
    };
  }
  return null;
}

// ---- coordinator → worker -----------------------------------------------------------------

const challenge = z.object({
  type: z.literal('challenge'),
  protocol: nat,
  /** random bytes the worker must authenticate: HMAC-SHA256(token, nonce) */
  nonce: bytes,
  authRequired: z.boolean(),
});

const welcome = z.object({
  type: z.literal('welcome'),
  workerId: id,
  /** random ticket for this connection's HTTP requests (dataset blobs); not the token */
  session: z.string().max(200),
});

const job = z.object({
  type: z.literal('job'),
  jobId: id,
  /** the resolved run config (validated again by the worker) */
  config: z.record(z.string(), z.unknown()),
  dataset: z.object({
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** path of the dataset blob on the coordinator's HTTP server */
    url: z.string().max(300),
    bytes: nat,
  }),
});

/** One worker's share of one step: a contiguous run of microbatches. */
const step = z.object({
  type: z.literal('step'),
  jobId: id,
  step: nat,
  /** increases whenever the step's work is handed out again; older attempts are dropped */
  attempt: nat,
  /** the weights at this step (absent when the worker has them, or when a `params` message
   *  follows: the worker then fills its slots and waits for it) */
  params: f32.optional(),
  /** index of the first microbatch of this run, and the sample indices of the run */
  firstMicrobatch: nat,
  microbatch: z.number().int().positive(),
  samples: i32,
});

/** The weights of a step whose work was handed out before they existed (the next step's samples
 *  go out while the current step's gradient is being applied); the worker starts then. */
const params = z.object({
  type: z.literal('params'),
  jobId: id,
  step: nat,
  params: f32,
});

const syncResult = z.object({
  type: z.literal('sync-result'),
  jobId: id,
  step: nat,
  attempt: nat,
  round: nat,
  value: f64,
});

const jobDone = z.object({ type: z.literal('job-done'), jobId: id });

const errorMsg = z.object({
  type: z.literal('error'),
  code: z.string().max(50),
  message: z.string().max(2000),
});

export const toWorkerSchema = z.discriminatedUnion('type', [
  challenge,
  welcome,
  job,
  step,
  params,
  syncResult,
  jobDone,
  errorMsg,
]);
export type ToWorker = z.infer<typeof toWorkerSchema>;

// ---- worker → coordinator -----------------------------------------------------------------

const hello = z.object({
  type: z.literal('hello'),
  protocol: nat,
  name: z.string().min(1).max(100),
  runtime: runtimeSchema,
  /** HMAC-SHA256(token, nonce), or absent when the coordinator needs no token */
  auth: bytes.optional(),
});

const ready = z.object({ type: z.literal('ready'), jobId: id });

const jobFailed = z.object({
  type: z.literal('job-failed'),
  jobId: id,
  code: z.string().max(50),
  message: z.string().max(2000),
});

const sync = z.object({
  type: z.literal('sync'),
  jobId: id,
  step: nat,
  attempt: nat,
  round: nat,
  kind: z.enum(['bn-forward', 'bn-backward']),
  layer: nat,
  /** one partial value per microbatch of the run, in order */
  partials: z.array(f64).max(100_000),
});

export const blockSchema = z.object({
  start: nat,
  size: z.number().int().positive(),
  grads: f32,
  /** any number, NaN and ±Infinity included: a diverging run's loss must reach the
   *  onNonFinite policy (z.number() refuses non-finite values) */
  lossSum: anyNumber,
  correct: nat,
});
export type GradBlock = z.infer<typeof blockSchema>;

const grads = z.object({
  type: z.literal('grads'),
  jobId: id,
  step: nat,
  attempt: nat,
  /** the run's aligned blocks, each pre-reduced in the fixed tree */
  blocks: z.array(blockSchema).max(64),
  computeMs: z.number().nonnegative(),
});

export const toCoordinatorSchema = z.discriminatedUnion('type', [hello, ready, jobFailed, sync, grads, errorMsg]);
export type ToCoordinator = z.infer<typeof toCoordinatorSchema>;

export type MessageOf<U extends { type: string }, T extends U['type']> = Extract<U, { type: T }>;

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
 *  parts are the frame; they can also go out as the fragments of one WebSocket message. */
export function encodeParts(message: ToWorker | ToCoordinator): Buffer[] {
  const payloads: Buffer[] = [];
  let offset = 0;
  const strip = (v: unknown, depth: number): unknown => {
    if (v instanceof Float32Array && v.length >= RAW_MIN_LENGTH) {
      const at = offset;
      payloads.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      offset += align8(v.byteLength);
      if (v.byteLength % 8) payloads.push(Buffer.alloc(4));
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
  const head = Buffer.alloc(align8(8 + header.byteLength));
  head[0] = ENVELOPE;
  head.writeUInt32LE(header.byteLength, 4);
  header.copy(head, 8);
  return [head, ...payloads];
}

export function encode(message: ToWorker | ToCoordinator): Buffer {
  const parts = encodeParts(message);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Send frame parts as one WebSocket message (its fragments, so payloads are not copied). */
export function sendParts(
  ws: { send(data: Buffer, options: { binary: boolean; fin: boolean }): void },
  parts: Buffer[],
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
