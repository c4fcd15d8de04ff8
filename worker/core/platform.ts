// What the worker core (client.ts, steps.ts, compute.ts, dataset.ts) asks of the program it runs
// in: a WebSocket, HMAC-SHA256 and sha256, a dataset store, a logger, a thread team. The Node
// worker (worker/node-platform.ts: ws, node:crypto, a cache directory, node:worker_threads) and
// the browser page's agent (worker/browser/platform.ts: the browser's WebSocket, WebCrypto, the
// Cache API) each implement it; the core imports no Node module, no `ws`, no Buffer, no pino.
import type { RunConfig } from '../../shared/config-types.js';
import type { Dataset } from '../../shared/data/dataset.js';
import type { AgentInfo, RuntimeInfo } from '../../shared/protocol.js';
import type { Compute } from './compute.js';

/** The log calls the core makes: an object of fields (its `event` names what happened) and a
 *  sentence. pino's Logger is one; the page's agent forwards them to the page. */
export interface CoreLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** What the core hears from its socket. */
export interface SocketEvents {
  open(): void;
  /** one whole binary message */
  message(data: Uint8Array): void;
  /** anything heard that is not a message (a WebSocket ping): the coordinator is alive */
  heard(): void;
  error(message: string): void;
  close(code: number, reason: string): void;
}

/** One WebSocket connection to the coordinator, binary messages only. */
export interface CoreSocket {
  readonly open: boolean;
  /** send frame parts (shared/protocol-codec.ts encodeParts) as one message */
  send(parts: Uint8Array[]): void;
  close(code: number, reason: string): void;
  /** drop the connection at once, without the closing handshake (a silent coordinator) */
  terminate(): void;
}

/** Where the core keeps datasets between jobs and runs: bytes by their sha256. */
export interface DatasetStore {
  /** the stored bytes named `sha256`, or null (the core checks their hash before use) */
  read(sha256: string): Promise<Uint8Array | null>;
  write(sha256: string, bytes: Uint8Array): Promise<void>;
  /** GET `url` (a path on the coordinator's HTTP server) with these headers; the body */
  fetch(url: string, headers: Record<string, string>): Promise<Uint8Array>;
}

/** A job's compute on a team of threads (threads ≥ 2, or a worker holding several jobs). */
export interface TeamRequest {
  jobId: string;
  config: RunConfig;
  data: Dataset;
  /** sha256 of the dataset: teams of jobs on the same data may share one copy */
  datasetSha256: string;
  threads: number;
}

export interface WorkerPlatform {
  /** open a connection to `url`; events arrive through `on` */
  connect(url: string, on: SocketEvents): CoreSocket;
  /** HMAC-SHA256 of `data` with key `token` (UTF-8) */
  hmacSha256(token: string, data: Uint8Array): Promise<Uint8Array>;
  /** sha256 of `bytes`, 64 hex digits */
  sha256Hex(bytes: Uint8Array): Promise<string>;
  datasets: DatasetStore;
  log: CoreLogger;
  /** what hello.runtime reports (shared/kernels kernelFacts plus the runtime's versions) */
  runtime(): RuntimeInfo;
  /** what hello.agent reports */
  agent(): AgentInfo;
  /** the socket's send copies the message's bytes before it returns (a browser's WebSocket): a
   *  pass's gradients are sent from the compute's own buffers, not copied out first */
  sendCopies?: boolean;
  /** a whole number in [0, max): the reconnect backoff's jitter (never reaches the weights) */
  jitter(max: number): number;
  /** start a job's compute on a team of threads; absent: this platform computes only in the
   *  core's own thread (threads = 1) */
  startTeam?(request: TeamRequest): Promise<{ compute: Compute; datasetShared: boolean }>;
  /** test hook (shared/node/threads/fault.ts): report the pass of `step` lost after its first
   *  BatchNorm round, once */
  lateFault?(step: number): boolean;
}
