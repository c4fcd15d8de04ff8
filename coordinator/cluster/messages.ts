// What the coordinator's server does with each decoded message from a worker: the handshake
// (`hello`: protocol version, token HMAC, runtime compatibility, then `welcome`), a worker
// becoming ready for its job, job failures and error reports; step answers (`sync`, `grads`)
// go on to the listener (the step scheduler). A message out of place closes the connection.
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import {
  type AgentInfo,
  CLOSE,
  type ErrorCode,
  PROTOCOL_VERSION,
  type RuntimeInfo,
  runtimeMismatch,
  type ToCoordinator,
} from '../../shared/protocol.js';
import { authTag } from './auth.js';
import type { Seat, WorkerConn } from './worker-conn.js';

/** What a browser without WebAssembly SIMD is told (the page shows it). */
export const NO_SIMD =
  "this browser has no WebAssembly SIMD; gradwire's kernels need it — use a current Chrome, Firefox or Safari";

/** Why a browser page cannot join this coordinator, or null. A page computes with the wasm-simd
 *  kernels it loads from this coordinator (/join/kernels.wasm: the same build), so it needs SIMD,
 *  and a coordinator on the js kernels (which call the runtime's Math.exp and friends, whose
 *  results differ between V8 versions) cannot take it. */
export function browserRefusal(agent: AgentInfo, coordinator: RuntimeInfo): string | null {
  if (!agent.simd) return NO_SIMD;
  if (coordinator.kernel !== 'wasm-simd') {
    return (
      `this coordinator computes with the ${coordinator.kernel} kernels, which call the runtime's Math functions (another JavaScript engine gives other bits), ` +
      'so a browser cannot join it: start the coordinator with the wasm-simd kernels (leave GRADWIRE_KERNELS unset, or set it to wasm-simd)'
    );
  }
  return null;
}

/** A worker's message for the step scheduler (anything but the handshake and `ready`). */
export type StepMessage = Exclude<ToCoordinator, { type: 'hello' | 'ready' }>;

/** What message handling asks of the server. */
export interface MessageSide {
  token: string | null;
  /** what workers' runtimes are compared with */
  runtime: RuntimeInfo;
  log: Logger;
  /** drop a worker: log, tell it, close */
  reject(c: WorkerConn, code: ErrorCode, closeCode: number, message: string, detail?: Record<string, unknown>): void;
  /** a message out of place: counted as a rejected frame, the worker is dropped */
  unexpected(c: WorkerConn, type: string): void;
  /** count a rejected frame */
  rejectedFrame(): void;
  /** a worker authenticated: offer it the job, or say it is idle */
  joined(c: WorkerConn): void;
  /** a worker loaded a job (its seat for it is ready) */
  ready(seat: Seat): void;
  /** a step answer for the listener, from a ready seat */
  message(seat: Seat, msg: StepMessage): void;
}

/** Handle one decoded message from worker `c`. */
export function handleMessage(side: MessageSide, c: WorkerConn, msg: ToCoordinator): void {
  if (c.state === 'handshake') {
    if (msg.type !== 'hello') return side.unexpected(c, msg.type);
    return hello(side, c, msg);
  }
  switch (msg.type) {
    case 'hello':
      return side.unexpected(c, msg.type);
    case 'ready': {
      const seat = c.seat(msg.jobId);
      if (seat?.state !== 'loading') {
        if (!seat && c.offered.has(msg.jobId)) return; // ready for a job it was since moved off
        return side.unexpected(c, msg.type);
      }
      seat.state = 'ready';
      side.log.info(
        {
          event: 'worker-ready',
          worker: c.id,
          name: c.name,
          address: c.address,
          job: seat.jobId,
          threads: seat.threads,
        },
        `worker ${c.label()} ready${c.seats.length > 1 || seat.threads < c.threads ? ` for ${seat.jobId} on ${seat.threads === 1 ? '1 thread' : `${seat.threads} threads`}` : ''}`,
      );
      side.ready(seat);
      return;
    }
    case 'job-failed':
      side.reject(c, 'E_JOB', CLOSE.INCOMPATIBLE, `could not load the job: ${msg.code}: ${msg.message}`);
      return;
    case 'error':
      side.log.error(
        { event: 'worker-error', worker: c.id, code: msg.code },
        `worker ${c.label()} reports ${msg.code}: ${msg.message}`,
      );
      return;
    default: {
      const seat = c.seat(msg.jobId);
      if (seat?.state === 'ready') return side.message(seat, msg);
      if (!seat && c.offered.has(msg.jobId)) return; // a late answer for a job this worker has left
      return side.unexpected(c, msg.type);
    }
  }
}

/** The handshake's answer: protocol version, then the token's HMAC, then the runtime. */
function hello(side: MessageSide, c: WorkerConn, msg: Extract<ToCoordinator, { type: 'hello' }>): void {
  c.name = msg.name;
  if (msg.protocol !== PROTOCOL_VERSION) {
    return side.reject(
      c,
      'E_PROTOCOL_VERSION',
      CLOSE.PROTOCOL_VERSION,
      `speaks protocol version ${msg.protocol}; this coordinator speaks ${PROTOCOL_VERSION}: run the same gradwire version on both sides`,
    );
  }
  if (side.token !== null) {
    const want = authTag(side.token, c.nonce);
    const got = msg.auth;
    if (!got || got.byteLength !== want.byteLength || !timingSafeEqual(Buffer.from(got), want)) {
      return side.reject(c, 'E_AUTH', CLOSE.AUTH_FAILED, 'authentication failed: wrong or missing token');
    }
  }
  const mine = side.runtime;
  const theirs = msg.runtime;
  const agent = msg.agent ?? null;
  const refusal = agent?.kind === 'browser' ? browserRefusal(agent, mine) : null;
  if (refusal) {
    return side.reject(c, 'E_INCOMPATIBLE', CLOSE.INCOMPATIBLE, refusal, {
      kind: 'browser',
      simd: agent?.simd,
      userAgent: agent?.userAgent,
    });
  }
  if (theirs.kernelBuild === undefined || theirs.math === undefined) {
    side.rejectedFrame();
    return side.reject(
      c,
      'E_BAD_FRAME',
      CLOSE.BAD_FRAME,
      `invalid "hello" message: protocol ${PROTOCOL_VERSION} needs runtime.kernelBuild and runtime.math`,
    );
  }
  const mismatch = runtimeMismatch(mine, theirs);
  if (mismatch) {
    return side.reject(c, 'E_INCOMPATIBLE', CLOSE.INCOMPATIBLE, mismatch.message, {
      field: mismatch.field,
      workerValue: theirs[mismatch.field] ?? null,
      coordinatorValue: mine[mismatch.field] ?? null,
    });
  }
  c.runtime = msg.runtime;
  c.agent = agent;
  c.threads = msg.threads ?? 1;
  c.joined = true;
  c.send({ type: 'welcome', workerId: c.id, session: c.session });
  const sameRuntime = theirs.v8 === mine.v8 && theirs.math === mine.math;
  side.log.info(
    {
      event: 'worker-joined',
      worker: c.id,
      name: c.name,
      address: c.address,
      kernel: theirs.kernel,
      kernelBuild: theirs.kernelBuild,
      node: theirs.node,
      v8: theirs.v8,
      threads: c.threads,
      kind: c.kind,
      userAgent: agent?.userAgent,
      sameRuntime,
    },
    `worker ${c.label()} joined (${c.threads === 1 ? '1 thread' : `${c.threads} threads`}, kernel ${theirs.kernel}${theirs.kernelBuild ? ` build ${theirs.kernelBuild.slice(0, 12)}` : ''}, ${c.kind === 'browser' ? 'a browser page' : `Node ${theirs.node}`}` +
      `${sameRuntime || c.kind === 'browser' ? '' : `; the coordinator runs Node ${mine.node}: the same results, the ${theirs.kernel} kernels do not use the runtime's elementary functions`})`,
  );
  side.joined(c);
}
