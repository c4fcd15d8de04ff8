// The wire protocol's messages: the version, the close and error codes, and every message in
// each direction, declared once for both sides as a zod schema (its runtime validation) with
// the TypeScript type inferred from it, a discriminated union on `type`. shared/PROTOCOL.md
// lists the messages and the flow; protocol-codec.ts turns them into frames and back.
import { z } from 'zod';

/** 4: a worker holds several jobs at once, each on some of its threads (`job.threads`, the
 *  `release` message): a sweep's trials side by side in one process. 3: hello.runtime carries
 *  kernelBuild and math; the handshake compares what determines the bits instead of the V8
 *  version. 2: envelope frames and the params message. */
export const PROTOCOL_VERSION = 4;

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
  /** the worker's compute threads this job uses (absent: all of them). A worker holds several
   *  jobs at once while their threads fit in its own; a job that does not fit replaces the jobs
   *  it holds, oldest first. */
  threads: z.number().int().min(1).max(1024).optional(),
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

/** The job no longer needs this worker (a sweep's trial ended): its threads are free for the
 *  next job; the worker stays in the pool. */
const release = z.object({ type: z.literal('release'), jobId: id });

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
  release,
  errorMsg,
]);
export type ToWorker = z.infer<typeof toWorkerSchema>;

// ---- worker → coordinator -----------------------------------------------------------------

/** What runs the worker: the Node process (`gradwire worker`) or a browser page (/join), its
 *  user agent (a browser's navigator.userAgent; shown on the dashboard, so escaped there), and
 *  whether its engine has WebAssembly SIMD (the wasm-simd kernels need it: a page without it
 *  says so here instead of computing with other kernels). */
export const agentSchema = z.object({
  kind: z.enum(['node', 'browser']),
  userAgent: z.string().max(400).optional(),
  simd: z.boolean(),
});
export type AgentInfo = z.infer<typeof agentSchema>;

const hello = z.object({
  type: z.literal('hello'),
  protocol: nat,
  name: z.string().min(1).max(100),
  runtime: runtimeSchema,
  /** the worker's compute threads (a thread team in one process); absent: 1 (an older worker) */
  threads: z.number().int().min(1).max(1024).optional(),
  /** HMAC-SHA256(token, nonce), or absent when the coordinator needs no token */
  auth: bytes.optional(),
  /** what kind of program the worker is (absent: a Node worker of an earlier build) */
  agent: agentSchema.optional(),
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
