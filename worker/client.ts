// The worker: connects to a coordinator, proves it knows the token (HMAC over the server's
// nonce), loads each job's dataset by hash and starts its compute (compute.ts: this thread, or
// a thread team for --threads N ≥ 2), and hands each step to the job's step runner (steps.ts),
// which sends the BatchNorm partial values and the pre-reduced gradient blocks. A worker holds
// several jobs at once when the coordinator gives each some of its threads (a sweep's trials
// side by side, over one shared copy of their dataset). It reconnects with backoff when the
// connection drops and exits 0 when its coordinator's run is done (unless told to stay).
import { createHmac, randomInt } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { parseRunConfig } from '../shared/config.js';
import type { Dataset } from '../shared/data/dataset.js';
import { kernelFacts } from '../shared/kernels/index.js';
import {
  CLOSE,
  FrameError,
  PROTOCOL_VERSION,
  decodeToWorker,
  encodeParts,
  frameLimit,
  sendParts,
  type RuntimeInfo,
  type ToCoordinator,
  type ToWorker,
} from '../shared/protocol.js';
import { ThreadPool, shareDataset, type ThreadFault } from '../shared/node/threads/team.js';
import { type Compute, startCompute } from './compute.js';
import { getDataset } from './dataset-cache.js';
import { StepRunner } from './steps.js';

export { warmUp } from './compute.js';

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

/** A job this worker holds, or is loading (`job` null until its compute has started). */
interface Holding {
  /** counts job loads: a load whose holding was dropped or replaced meanwhile drops what it built */
  load: number;
  /** what identifies the job's work: a new `job` message with the same key keeps the compute */
  key: string;
  threads: number;
  job: { compute: Compute; steps: StepRunner; dataset: string } | null;
}

/** The worker masks its frames with a zero key, so ws sends the payloads as they are instead of
 *  copying them through the mask. Masking guards intermediaries against a hostile script in a
 *  browser choosing the bytes on the wire; a worker is not such a client (RFC 6455 §10.3). */
const ZERO_MASK = (mask: Buffer): void => {
  mask.fill(0);
};

/** Errors after which retrying cannot help: the worker exits with code 2. */
const FATAL = new Set(['E_AUTH', 'E_PROTOCOL_VERSION', 'E_INCOMPATIBLE']);

export function defaultWorkerName(): string {
  return `${hostname()}-${process.pid}`;
}

export class WorkerClient {
  private ws: WebSocket | null = null;
  /** the jobs held or being loaded, by id, oldest first */
  private readonly jobs = new Map<string, Holding>();
  private loads = 0;
  /** datasets in SharedArrayBuffers, by sha256, while a thread team of some job reads them:
   *  jobs on the same data share one copy */
  private readonly sharedData = new Map<string, { data: Dataset; users: number }>();
  /** compute threads of jobs this worker has left, kept for its next jobs (a sweep's trials
   *  follow each other: a thread loads the next model instead of starting again) */
  private readonly threadPool = new ThreadPool();
  private session = '';
  private backoffMs = 200;
  private fatal: string | null = null;
  private done = false;
  private stopped = false;
  private lastHeard = Date.now();
  private watchdog: NodeJS.Timeout | null = null;
  private finish: (code: number) => void = () => {};
  private readonly maxFrameBytes: number;
  /** the test hook's thread fault, until it is used (the first thread team gets it) */
  private teamFault: ThreadFault | null;
  /** the test hook's late fault, until it is used */
  private lateFault: { step: number } | null;

  constructor(private readonly o: WorkerOptions) {
    this.maxFrameBytes = o.maxFrameBytes ?? frameLimit(process.env.GRADWIRE_MAX_FRAME_BYTES);
    const f = o.testFault ?? null;
    this.teamFault = f && f.kind !== 'late' ? { kind: f.kind, thread: f.thread, step: f.step } : null;
    this.lateFault = f?.kind === 'late' ? { step: f.step } : null;
  }

  /** the run ids of the jobs this worker holds (dataset loaded, model built), comma-separated;
   *  null when none */
  get jobId(): string | null {
    const ids = [...this.jobs].filter(([, h]) => h.job).map(([id]) => id);
    return ids.length > 0 ? ids.join(',') : null;
  }

  /** For the status file: connecting (no connection yet or again), idle, working (a step). */
  get state(): 'connecting' | 'idle' | 'working' {
    if (this.ws === null || this.ws.readyState !== WebSocket.OPEN) return 'connecting';
    return [...this.jobs.values()].some((h) => h.job?.steps.busy) ? 'working' : 'idle';
  }

  /** Run until the coordinator's run is done (0), a fatal error (2), or stop(). */
  run(): Promise<number> {
    return new Promise((resolve) => {
      this.finish = resolve;
      this.connect();
    });
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close(CLOSE.GOING_AWAY, 'worker stopping');
    this.end(0);
  }

  private end(code: number): void {
    if (this.watchdog) clearInterval(this.watchdog);
    void Promise.all([...this.jobs.keys()].map((id) => this.dropJob(id)))
      .then(() => this.threadPool.close())
      .then(() => this.finish(code));
  }

  /** Forget a job and stop its compute (a thread team's threads end); a load in progress drops
   *  what it builds. */
  private async dropJob(jobId: string): Promise<void> {
    const h = this.jobs.get(jobId);
    if (!h) return;
    this.jobs.delete(jobId);
    if (h.job) await this.closeCompute(h.job.compute, h.job.dataset);
  }

  private async closeCompute(compute: Compute, dataset: string): Promise<void> {
    await compute.close();
    const d = this.sharedData.get(dataset);
    if (d && --d.users === 0) this.sharedData.delete(dataset);
  }

  /** the dataset a thread team reads: the shared copy other jobs on the same data use */
  private shareData(sha256: string, data: Dataset): Dataset {
    let d = this.sharedData.get(sha256);
    if (!d) {
      d = { data: shareDataset(data), users: 0 };
      this.sharedData.set(sha256, d);
    }
    d.users++;
    return d.data;
  }

  private connect(): void {
    const ws = new WebSocket(this.o.url, {
      maxPayload: this.maxFrameBytes,
      perMessageDeflate: false,
      generateMask: ZERO_MASK,
      ...(this.o.ca ? { ca: this.o.ca } : {}),
    });
    this.ws = ws;
    this.lastHeard = Date.now();
    ws.on('open', () => {
      // the backoff starts over once the job is loaded (see loadJob), not on every open: a
      // coordinator that turns this worker away at once must not be hammered
      this.o.log.info({ event: 'connected', url: this.o.url }, `connected to ${this.o.url}`);
    });
    ws.on('ping', () => {
      this.lastHeard = Date.now();
    });
    ws.on('message', (data: Buffer) => {
      this.lastHeard = Date.now();
      let msg: ToWorker;
      try {
        msg = decodeToWorker(data, this.maxFrameBytes);
      } catch (e) {
        this.o.log.error(
          { event: 'bad-frame', err: (e as Error).message },
          `bad frame from the coordinator: ${(e as Error).message}`,
        );
        ws.close(CLOSE.BAD_FRAME, 'bad frame');
        return;
      }
      this.handle(msg).catch((e: unknown) => {
        const err = e instanceof FrameError ? e : (e as Error);
        this.o.log.error({ event: 'job-error', err: err.message }, `cannot work on the job: ${err.message}`);
        if (msg.type === 'job' && !this.jobs.get(msg.jobId)?.job)
          this.send({ type: 'job-failed', jobId: msg.jobId, code: 'E_JOB', message: err.message });
      });
    });
    ws.on('error', (e) =>
      this.o.log.warn({ event: 'socket-error', err: e.message }, `connection to ${this.o.url}: ${e.message}`),
    );
    ws.on('close', (code, reason) => {
      for (const h of this.jobs.values()) h.job?.steps.reset();
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (this.fatal) {
        this.o.log.error({ event: 'fatal', reason: this.fatal }, `giving up: ${this.fatal}`);
        this.end(2);
        return;
      }
      if (this.done && !this.o.stay) {
        this.end(0);
        return;
      }
      const wait = this.backoffMs + randomInt(0, 1 + Math.floor(this.backoffMs / 4));
      this.backoffMs = Math.min(this.backoffMs * 2, 5000);
      this.o.log.warn(
        { event: 'reconnect', code, reason: reason.toString(), inMs: wait },
        `disconnected (${code}); reconnecting in ${wait} ms`,
      );
      setTimeout(() => this.connect(), wait);
    });
    if (!this.watchdog) {
      this.watchdog = setInterval(
        () => {
          if (this.ws && Date.now() - this.lastHeard > this.o.heartbeatTimeoutMs) {
            this.o.log.warn(
              { event: 'heartbeat-timeout' },
              `no word from the coordinator for ${this.o.heartbeatTimeoutMs} ms: reconnecting`,
            );
            const stale = this.ws;
            stale.terminate();
          }
        },
        Math.min(1000, this.o.heartbeatTimeoutMs / 2),
      );
    }
  }

  private send(msg: ToCoordinator): void {
    if (this.ws?.readyState === WebSocket.OPEN) sendParts(this.ws, encodeParts(msg));
  }

  private async handle(msg: ToWorker): Promise<void> {
    switch (msg.type) {
      case 'challenge': {
        if (msg.authRequired && !this.o.token) {
          this.fatal = 'the coordinator requires a token: give --token-file FILE or GRADWIRE_TOKEN';
          this.ws?.close(CLOSE.AUTH_FAILED, 'no token');
          return;
        }
        const auth = this.o.token ? createHmac('sha256', this.o.token).update(msg.nonce).digest() : undefined;
        this.send({
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          name: this.o.name,
          runtime: runtimeInfo(),
          threads: this.o.threads,
          ...(auth ? { auth: new Uint8Array(auth) } : {}),
        });
        return;
      }
      case 'welcome':
        this.session = msg.session;
        this.o.log.info({ event: 'welcome', workerId: msg.workerId }, `joined the pool as ${msg.workerId}`);
        return;
      case 'job':
        return this.loadJob(msg);
      case 'step':
        return this.steps(msg.jobId).startStep(msg);
      case 'params':
        return this.steps(msg.jobId).setParams(msg);
      case 'sync-result':
        this.jobs.get(msg.jobId)?.job?.steps.resume(msg);
        return;
      case 'job-done':
        this.o.log.info(
          { event: 'job-done', job: msg.jobId, steps: this.jobs.get(msg.jobId)?.job?.steps.stepsComputed ?? 0 },
          `run ${msg.jobId} done`,
        );
        await Promise.all([...this.jobs.keys()].map((id) => this.dropJob(id)));
        this.done = true;
        if (!this.o.stay) this.ws?.close(CLOSE.NORMAL, 'run done');
        return;
      case 'release': {
        const h = this.jobs.get(msg.jobId);
        this.o.log.debug(
          { event: 'release', job: msg.jobId, steps: h?.job?.steps.stepsComputed ?? 0 },
          `job ${msg.jobId} released`,
        );
        await this.dropJob(msg.jobId);
        return;
      }
      case 'error':
        this.o.log.error({ event: 'coordinator-error', code: msg.code }, `coordinator: ${msg.code}: ${msg.message}`);
        if (FATAL.has(msg.code)) this.fatal = `${msg.code}: ${msg.message}`;
        return;
    }
  }

  /** the step runner of job `jobId` (an error when this worker does not hold it) */
  private steps(jobId: string): StepRunner {
    const job = this.jobs.get(jobId)?.job;
    if (!job) throw new Error(`a message for job ${jobId}, which this worker has not loaded`);
    return job.steps;
  }

  /** Make room for a job on `threads` threads: drop the jobs held (oldest first) until it fits. */
  private async makeRoom(jobId: string, threads: number): Promise<void> {
    let used = 0;
    for (const [id, h] of this.jobs) if (id !== jobId) used += h.threads;
    const drops: Array<Promise<void>> = [];
    for (const [id, h] of [...this.jobs]) {
      if (used + threads <= this.o.threads) break;
      if (id === jobId) continue;
      used -= h.threads;
      drops.push(this.dropJob(id));
    }
    await Promise.all(drops);
  }

  private async loadJob(msg: Extract<ToWorker, { type: 'job' }>): Promise<void> {
    this.done = false;
    const threads = Math.min(msg.threads ?? this.o.threads, this.o.threads);
    const key = JSON.stringify([msg.jobId, msg.dataset.sha256, msg.config, threads]);
    const held = this.jobs.get(msg.jobId);
    if (held?.key === key && held.job) {
      // the same job again (a new connection): its compute stays, threads, weights buffer and all
      held.job.steps.reset();
      this.o.log.info({ event: 'job', job: msg.jobId, reused: true }, `job ${msg.jobId}: already loaded`);
      this.send({ type: 'ready', jobId: msg.jobId });
      this.backoffMs = 200;
      return;
    }
    await this.dropJob(msg.jobId);
    const load = ++this.loads;
    this.jobs.set(msg.jobId, { load, key, threads, job: null });
    await this.makeRoom(msg.jobId, threads);
    const forget = (): void => {
      if (this.jobs.get(msg.jobId)?.load === load) this.jobs.delete(msg.jobId);
    };
    const config = (() => {
      try {
        return parseRunConfig(msg.config);
      } catch (e) {
        forget();
        throw e;
      }
    })();
    const base = this.o.url.replace(/^ws/, 'http');
    const t0 = performance.now();
    const { data, cached } = await getDataset(
      {
        base,
        sha256: msg.dataset.sha256,
        url: msg.dataset.url,
        session: this.session,
        ...(this.o.ca ? { ca: this.o.ca } : {}),
      },
      this.o.cacheDir,
    ).catch((e: unknown) => {
      forget();
      throw e;
    });
    const warm = performance.now();
    // one thread of a one-thread worker computes in this thread; otherwise each job has a team
    // of its own threads (this thread serves the connection and every job's steps)
    const team = this.o.threads > 1;
    const fault = team ? this.teamFault : null;
    if (fault) this.teamFault = null;
    const jobData = team ? this.shareData(msg.dataset.sha256, data) : data;
    let compute: Compute;
    try {
      compute = await startCompute(config, jobData, threads, {
        team,
        pool: this.threadPool,
        ...(fault ? { fault } : {}),
        onThreadLost: (index, reason) =>
          this.o.log.warn(
            { event: 'thread-replaced', job: msg.jobId, thread: index, reason },
            `compute thread ${index} ${reason}: replaced`,
          ),
      });
    } catch (e) {
      if (team) {
        const d = this.sharedData.get(msg.dataset.sha256);
        if (d && --d.users === 0) this.sharedData.delete(msg.dataset.sha256);
      }
      forget();
      throw e;
    }
    const holding = this.jobs.get(msg.jobId);
    if (holding?.load !== load || this.stopped) {
      await this.closeCompute(compute, msg.dataset.sha256); // dropped or replaced meanwhile (or stop)
      return;
    }
    const steps = new StepRunner(msg.jobId, compute, {
      log: this.o.log,
      send: (m) => this.send(m),
      drop: (reason) => this.ws?.close(CLOSE.GOING_AWAY, reason),
      lateFault: (step) => {
        if (this.lateFault?.step !== step) return false;
        this.lateFault = null;
        return true;
      },
    });
    holding.job = { compute, steps, dataset: msg.dataset.sha256 };
    const shared = team ? (this.sharedData.get(msg.dataset.sha256)?.users ?? 1) : 1;
    this.o.log.info(
      {
        event: 'job',
        job: msg.jobId,
        dataset: msg.dataset.sha256.slice(0, 12),
        cached,
        threads: compute.threads,
        jobs: this.jobs.size,
        datasetShared: shared > 1,
        ms: Math.round(performance.now() - t0),
      },
      `job ${msg.jobId}: ${compute.describe()} on ${data.n} samples, ${compute.threads === 1 ? '1 thread' : `${compute.threads} threads`}${this.jobs.size > 1 ? ` beside ${this.jobs.size - 1} other job${this.jobs.size > 2 ? 's' : ''}` : ''} (${cached ? 'dataset from cache' : 'dataset fetched'}${shared > 1 ? ', one copy shared with them' : ''}; warm-up ${Math.round(performance.now() - warm)} ms)`,
    );
    this.send({ type: 'ready', jobId: msg.jobId });
    this.backoffMs = 200;
  }
}
