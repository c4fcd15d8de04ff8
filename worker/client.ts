// The Node worker: the worker core (worker/core/client.ts) on the Node platform — `ws` for the
// connection (masked with a zero key, large frames sent as fragments without a copy),
// node:crypto for the HMAC and hashes, datasets cached on disk (dataset-cache.ts), and for
// --threads N ≥ 2 a node:worker_threads team per job over one shared copy of its dataset
// (team-compute.ts), threads kept in a pool for the next job.
import { createHmac, randomInt } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { Dataset } from '../shared/data/dataset.js';
import { kernelFacts } from '../shared/kernels/index.js';
import { sha256Hex } from '../shared/node/hash.js';
import { ThreadPool, shareDataset, type ThreadFault } from '../shared/node/threads/team.js';
import { frameLimit, type RuntimeInfo, sendParts } from '../shared/protocol.js';
import { WorkerCore } from './core/client.js';
import type { CoreSocket, TeamRequest, WorkerPlatform } from './core/platform.js';
import { diskDatasetStore } from './dataset-cache.js';
import { TeamCompute } from './team-compute.js';

/** What the handshake compares: the runtime, the kernel variant, its build and the math
 *  fingerprint (the coordinator decides which of them matter for the variant). */
export function runtimeInfo(): RuntimeInfo {
  return { node: process.versions.node, v8: process.versions.v8, ...kernelFacts() };
}

export interface WorkerOptions {
  url: string;
  token: string | null;
  name: string;
  stay: boolean;
  cacheDir: string;
  log: Logger;
  /** compute threads: 1 computes in this thread, N ≥ 2 on a thread team */
  threads: number;
  /** silence from the coordinator after which the connection is dropped and retried */
  heartbeatTimeoutMs: number;
  ca?: Buffer;
  /** largest frame accepted; default MAX_FRAME_BYTES, or GRADWIRE_MAX_FRAME_BYTES (tests) */
  maxFrameBytes?: number;
  /** a test hook (GRADWIRE_TEST_THREAD_FAULT, shared/node/threads/fault.ts): a thread fault
   *  injected once in this process's life */
  testFault?: { kind: 'throw' | 'exit' | 'late'; thread: number; step: number } | null;
}

/** The worker masks its frames with a zero key, so ws sends the payloads as they are instead of
 *  copying them through the mask. Masking guards intermediaries against a hostile script in a
 *  browser choosing the bytes on the wire; a worker is not such a client (RFC 6455 §10.3). */
const ZERO_MASK = (mask: Buffer): void => {
  mask.fill(0);
};

export function defaultWorkerName(): string {
  return `${hostname()}-${process.pid}`;
}

export class WorkerClient {
  private readonly core: WorkerCore;
  /** datasets in SharedArrayBuffers, by sha256, while a thread team of some job reads them:
   *  jobs on the same data share one copy */
  private readonly sharedData = new Map<string, { data: Dataset; users: number }>();
  /** compute threads of jobs this worker has left, kept for its next jobs (a sweep's trials
   *  follow each other: a thread loads the next model instead of starting again) */
  private readonly threadPool = new ThreadPool();
  /** the test hook's thread fault, until it is used (the first thread team gets it) */
  private teamFault: ThreadFault | null;
  /** the test hook's late fault, until it is used */
  private lateFault: { step: number } | null;

  constructor(private readonly o: WorkerOptions) {
    const f = o.testFault ?? null;
    this.teamFault = f && f.kind !== 'late' ? { kind: f.kind, thread: f.thread, step: f.step } : null;
    this.lateFault = f?.kind === 'late' ? { step: f.step } : null;
    const maxFrameBytes = o.maxFrameBytes ?? frameLimit(process.env.GRADWIRE_MAX_FRAME_BYTES);
    const platform: WorkerPlatform = {
      connect: (url, on) => connectWs(url, on, maxFrameBytes, o.ca),
      hmacSha256: async (token, data) => new Uint8Array(createHmac('sha256', token).update(data).digest()),
      sha256Hex: async (bytes) => sha256Hex(bytes),
      datasets: diskDatasetStore(o.cacheDir, o.url.replace(/^ws/, 'http'), o.ca),
      log: o.log,
      runtime: runtimeInfo,
      agent: () => ({ kind: 'node', simd: kernelFacts().kernel === 'wasm-simd' }),
      jitter: (max) => randomInt(0, max),
      startTeam: (r) => this.startTeam(r),
      lateFault: (step) => {
        if (this.lateFault?.step !== step) return false;
        this.lateFault = null;
        return true;
      },
    };
    this.core = new WorkerCore(
      {
        url: o.url,
        token: o.token,
        name: o.name,
        stay: o.stay,
        threads: o.threads,
        heartbeatTimeoutMs: o.heartbeatTimeoutMs,
        maxFrameBytes,
        tokenHint: 'give --token-file FILE or GRADWIRE_TOKEN',
      },
      platform,
    );
  }

  /** the run ids of the jobs this worker holds, comma-separated; null when none */
  get jobId(): string | null {
    return this.core.jobId;
  }

  /** For the status file: connecting (no connection yet or again), idle, working (a step). */
  get state(): 'connecting' | 'idle' | 'working' {
    return this.core.state;
  }

  /** Run until the coordinator's run is done (0), a fatal error (2), or stop(). */
  async run(): Promise<number> {
    const code = await this.core.run();
    await this.threadPool.close();
    return code;
  }

  stop(): void {
    this.core.stop();
  }

  /** A job's thread team over the shared copy of its dataset (other jobs on the same data use it). */
  private async startTeam(r: TeamRequest): Promise<{ compute: TeamCompute; datasetShared: boolean }> {
    const fault = this.teamFault;
    if (fault) this.teamFault = null;
    let d = this.sharedData.get(r.datasetSha256);
    if (!d) {
      d = { data: shareDataset(r.data), users: 0 };
      this.sharedData.set(r.datasetSha256, d);
    }
    d.users++;
    const release = (): void => {
      const s = this.sharedData.get(r.datasetSha256);
      if (s && --s.users === 0) this.sharedData.delete(r.datasetSha256);
    };
    try {
      const compute = await TeamCompute.start(r.config, d.data, r.threads, {
        pool: this.threadPool,
        ...(fault ? { fault } : {}),
        onThreadLost: (index, reason) =>
          this.o.log.warn(
            { event: 'thread-replaced', job: r.jobId, thread: index, reason },
            `compute thread ${index} ${reason}: replaced`,
          ),
        onClose: release,
      });
      return { compute, datasetShared: d.users > 1 };
    } catch (e) {
      release();
      throw e;
    }
  }
}

/** A ws connection as the core's socket. */
function connectWs(
  url: string,
  on: Parameters<WorkerPlatform['connect']>[1],
  maxPayload: number,
  ca?: Buffer,
): CoreSocket {
  const ws = new WebSocket(url, {
    maxPayload,
    perMessageDeflate: false,
    generateMask: ZERO_MASK,
    ...(ca ? { ca } : {}),
  });
  ws.on('open', () => on.open());
  ws.on('ping', () => on.heard());
  ws.on('message', (data: Buffer) => on.message(data));
  ws.on('error', (e) => on.error(e.message));
  ws.on('close', (code, reason) => on.close(code, reason.toString()));
  return {
    get open() {
      return ws.readyState === WebSocket.OPEN;
    },
    send: (parts) => sendParts(ws, parts),
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
  };
}
