// The worker core: connects to a coordinator, proves it knows the token (HMAC over the server's
// nonce), loads each job's dataset by hash and starts its compute (compute.ts: this thread, or
// the platform's thread team for threads ≥ 2), and hands each step to the job's step runner
// (steps.ts), which sends the BatchNorm partial values and the pre-reduced gradient blocks. It
// holds several jobs at once when the coordinator gives each some of its threads (a sweep's
// trials side by side). It reconnects with backoff when the connection drops and ends (0) when
// its coordinator's run is done (unless told to stay), or (2) on an error retrying cannot fix.
// Everything outside it — socket, crypto, dataset store, logger, threads — comes through the
// WorkerPlatform (platform.ts): the Node worker and the browser page run this same code.
import { parseRunConfig } from '../../shared/config.js';
import type { RunConfig } from '../../shared/config-types.js';
import {
  CLOSE,
  decodeToWorker,
  encodeParts,
  FrameError,
  PROTOCOL_VERSION,
  type ToCoordinator,
  type ToWorker,
} from '../../shared/protocol.js';
import { type Compute, InProcessCompute } from './compute.js';
import { getDataset } from './dataset.js';
import type { CoreSocket, WorkerPlatform } from './platform.js';
import { StepRunner } from './steps.js';

export interface CoreOptions {
  /** ws:// or wss:// URL of the coordinator */
  url: string;
  token: string | null;
  name: string;
  /** stay in the pool when the run is done */
  stay: boolean;
  /** compute threads: 1 computes in the core's thread, N ≥ 2 on the platform's team */
  threads: number;
  /** silence from the coordinator after which the connection is dropped and retried; 0: never
   *  (a browser hears no WebSocket pings, so it cannot tell silence from an idle pool) */
  heartbeatTimeoutMs: number;
  /** largest frame accepted */
  maxFrameBytes: number;
  /** what to do when the coordinator wants a token and none was given (ends the sentence
   *  "the coordinator requires a token: ...") */
  tokenHint: string;
}

/** What the worker is doing, as a page shows it. */
export type CoreState = 'connecting' | 'connected' | 'idle' | 'computing' | 'refused' | 'stopped';

/** Told what the worker does (the page's status; the Node worker needs none of it). */
export interface CoreObserver {
  /** the state changed; `reason` for refused (the coordinator's sentence) */
  state?(state: CoreState, reason?: string): void;
  /** a job was loaded */
  job?(info: { jobId: string; config: RunConfig; samples: number; threads: number }): void;
  /** this worker's share of a step was sent: its samples and the pass's wall time */
  stepDone?(info: { jobId: string; step: number; samples: number; ms: number }): void;
}

/** A job this worker holds, or is loading (`job` null until its compute has started). */
interface Holding {
  /** counts job loads: a load whose holding was dropped or replaced meanwhile drops what it built */
  load: number;
  /** what identifies the job's work: a new `job` message with the same key keeps the compute */
  key: string;
  threads: number;
  job: { compute: Compute; steps: StepRunner } | null;
}

/** Errors after which retrying cannot help: the worker ends with code 2. */
const FATAL = new Set(['E_AUTH', 'E_PROTOCOL_VERSION', 'E_INCOMPATIBLE']);

export class WorkerCore {
  private ws: CoreSocket | null = null;
  /** the jobs held or being loaded, by id, oldest first */
  private readonly jobs = new Map<string, Holding>();
  private loads = 0;
  private session = '';
  private backoffMs = 200;
  private fatal: string | null = null;
  /** the sentence a page shows for the fatal error (the coordinator's, without its code) */
  private fatalReason = '';
  private done = false;
  private stopped = false;
  private lastHeard = Date.now();
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private finish: (code: number) => void = () => {};
  private shownState: CoreState | null = null;

  constructor(
    private readonly o: CoreOptions,
    private readonly platform: WorkerPlatform,
    private readonly observer: CoreObserver = {},
  ) {}

  /** the run ids of the jobs this worker holds (dataset loaded, model built), comma-separated;
   *  null when none */
  get jobId(): string | null {
    const ids = [...this.jobs].filter(([, h]) => h.job).map(([id]) => id);
    return ids.length > 0 ? ids.join(',') : null;
  }

  /** For the status file: connecting (no connection yet or again), idle, working (a step). */
  get state(): 'connecting' | 'idle' | 'working' {
    if (this.ws === null || !this.ws.open) return 'connecting';
    return [...this.jobs.values()].some((h) => h.job?.steps.busy) ? 'working' : 'idle';
  }

  private show(state: CoreState, reason?: string): void {
    if (state === this.shownState && reason === undefined) return;
    this.shownState = state;
    this.observer.state?.(state, reason);
  }

  /** Run until the coordinator's run is done (0), a fatal error (2), or stop(). */
  run(): Promise<number> {
    return new Promise((resolve) => {
      this.finish = resolve;
      this.connect();
    });
  }

  /** Leave the pool: the connection closes cleanly (1001), so the coordinator reassigns at once. */
  stop(): void {
    this.stopped = true;
    this.ws?.close(CLOSE.GOING_AWAY, 'worker stopping');
    this.end(0);
  }

  private end(code: number): void {
    if (this.watchdog) clearInterval(this.watchdog);
    if (code !== 2 || !this.fatal) this.show('stopped');
    void Promise.all([...this.jobs.keys()].map((id) => this.dropJob(id))).then(() => this.finish(code));
  }

  /** Forget a job and stop its compute (a thread team's threads end); a load in progress drops
   *  what it builds. */
  private async dropJob(jobId: string): Promise<void> {
    const h = this.jobs.get(jobId);
    if (!h) return;
    this.jobs.delete(jobId);
    if (h.job) await h.job.compute.close();
  }

  private connect(): void {
    this.show('connecting');
    const ws = this.platform.connect(this.o.url, {
      open: () => {
        // the backoff starts over once the job is loaded (see loadJob), not on every open: a
        // coordinator that turns this worker away at once must not be hammered
        this.platform.log.info({ event: 'connected', url: this.o.url }, `connected to ${this.o.url}`);
        this.show('connected');
      },
      heard: () => {
        this.lastHeard = Date.now();
      },
      message: (data) => this.onMessage(ws, data),
      error: (message) =>
        this.platform.log.warn({ event: 'socket-error', err: message }, `connection to ${this.o.url}: ${message}`),
      close: (code, reason) => this.onClose(ws, code, reason),
    });
    this.ws = ws;
    this.lastHeard = Date.now();
    if (!this.watchdog && this.o.heartbeatTimeoutMs > 0) {
      this.watchdog = setInterval(
        () => {
          if (this.ws && Date.now() - this.lastHeard > this.o.heartbeatTimeoutMs) {
            this.platform.log.warn(
              { event: 'heartbeat-timeout' },
              `no word from the coordinator for ${this.o.heartbeatTimeoutMs} ms: reconnecting`,
            );
            this.ws.terminate();
          }
        },
        Math.min(1000, this.o.heartbeatTimeoutMs / 2),
      );
    }
  }

  private onMessage(ws: CoreSocket, data: Uint8Array): void {
    this.lastHeard = Date.now();
    let msg: ToWorker;
    try {
      msg = decodeToWorker(data, this.o.maxFrameBytes);
    } catch (e) {
      this.platform.log.error(
        { event: 'bad-frame', err: (e as Error).message },
        `bad frame from the coordinator: ${(e as Error).message}`,
      );
      ws.close(CLOSE.BAD_FRAME, 'bad frame');
      return;
    }
    this.handle(msg).catch((e: unknown) => {
      const err = e instanceof FrameError ? e : (e as Error);
      this.platform.log.error({ event: 'job-error', err: err.message }, `cannot work on the job: ${err.message}`);
      if (msg.type === 'job' && !this.jobs.get(msg.jobId)?.job)
        this.send({ type: 'job-failed', jobId: msg.jobId, code: 'E_JOB', message: err.message });
    });
  }

  private onClose(ws: CoreSocket, code: number, reason: string): void {
    for (const h of this.jobs.values()) h.job?.steps.reset();
    if (this.ws !== ws) return;
    this.ws = null;
    if (this.stopped) return;
    if (this.fatal) {
      this.platform.log.error({ event: 'fatal', reason: this.fatal }, `giving up: ${this.fatal}`);
      this.show('refused', this.fatalReason);
      this.end(2);
      return;
    }
    if (this.done && !this.o.stay) {
      this.end(0);
      return;
    }
    const wait = this.backoffMs + this.platform.jitter(1 + Math.floor(this.backoffMs / 4));
    this.backoffMs = Math.min(this.backoffMs * 2, 5000);
    this.platform.log.warn(
      { event: 'reconnect', code, reason, inMs: wait },
      `disconnected (${code}); reconnecting in ${wait} ms`,
    );
    this.show('connecting');
    setTimeout(() => this.connect(), wait);
  }

  private send(msg: ToCoordinator): void {
    if (this.ws?.open) this.ws.send(encodeParts(msg));
  }

  private async handle(msg: ToWorker): Promise<void> {
    switch (msg.type) {
      case 'challenge': {
        if (msg.authRequired && !this.o.token) {
          this.fatal = `the coordinator requires a token: ${this.o.tokenHint}`;
          this.fatalReason = this.fatal;
          this.ws?.close(CLOSE.AUTH_FAILED, 'no token');
          return;
        }
        const ws = this.ws;
        const auth = this.o.token ? await this.platform.hmacSha256(this.o.token, msg.nonce) : undefined;
        if (this.ws !== ws) return; // the connection changed while the HMAC was computed
        this.send({
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          name: this.o.name,
          runtime: this.platform.runtime(),
          threads: this.o.threads,
          agent: this.platform.agent(),
          ...(auth ? { auth } : {}),
        });
        return;
      }
      case 'welcome':
        this.session = msg.session;
        this.platform.log.info({ event: 'welcome', workerId: msg.workerId }, `joined the pool as ${msg.workerId}`);
        return;
      case 'job':
        return this.loadJob(msg);
      case 'step':
        this.show('computing');
        return this.steps(msg.jobId).startStep(msg);
      case 'params':
        return this.steps(msg.jobId).setParams(msg);
      case 'sync-result':
        this.jobs.get(msg.jobId)?.job?.steps.resume(msg);
        return;
      case 'job-done':
        this.platform.log.info(
          { event: 'job-done', job: msg.jobId, steps: this.jobs.get(msg.jobId)?.job?.steps.stepsComputed ?? 0 },
          `run ${msg.jobId} done`,
        );
        await Promise.all([...this.jobs.keys()].map((id) => this.dropJob(id)));
        this.done = true;
        this.show('idle');
        if (!this.o.stay) this.ws?.close(CLOSE.NORMAL, 'run done');
        return;
      case 'release': {
        const h = this.jobs.get(msg.jobId);
        this.platform.log.debug(
          { event: 'release', job: msg.jobId, steps: h?.job?.steps.stepsComputed ?? 0 },
          `job ${msg.jobId} released`,
        );
        await this.dropJob(msg.jobId);
        return;
      }
      case 'error':
        this.platform.log.error(
          { event: 'coordinator-error', code: msg.code },
          `coordinator: ${msg.code}: ${msg.message}`,
        );
        if (FATAL.has(msg.code)) {
          this.fatal = `${msg.code}: ${msg.message}`;
          this.fatalReason = msg.message;
        }
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
      this.platform.log.info({ event: 'job', job: msg.jobId, reused: true }, `job ${msg.jobId}: already loaded`);
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
    const t0 = performance.now();
    let compute: Compute;
    let config: RunConfig;
    let built: { n: number; cached: boolean; shared: boolean; warm: number };
    try {
      config = parseRunConfig(msg.config);
      const { data, cached } = await getDataset(this.platform, {
        sha256: msg.dataset.sha256,
        url: msg.dataset.url,
        session: this.session,
      });
      const warm = performance.now();
      // one thread of a one-thread worker computes in this thread; otherwise each job has a team
      // of its own threads (this thread serves the connection and every job's steps)
      const team = this.o.threads > 1 && this.platform.startTeam;
      const started = team
        ? await team.call(this.platform, {
            jobId: msg.jobId,
            config,
            data,
            datasetSha256: msg.dataset.sha256,
            threads,
          })
        : { compute: new InProcessCompute(config, data, !this.platform.sendCopies), datasetShared: false };
      compute = started.compute;
      built = { n: data.n, cached, shared: started.datasetShared, warm };
    } catch (e) {
      forget();
      throw e;
    }
    const holding = this.jobs.get(msg.jobId);
    if (holding?.load !== load || this.stopped) {
      await compute.close(); // dropped or replaced meanwhile (or stop)
      return;
    }
    const steps = new StepRunner(msg.jobId, compute, {
      log: this.platform.log,
      send: (m) => this.send(m),
      drop: (reason) => this.ws?.close(CLOSE.GOING_AWAY, reason),
      lateFault: (step) => this.platform.lateFault?.(step) ?? false,
      done: (step, samples, ms) => {
        this.observer.stepDone?.({ jobId: msg.jobId, step, samples, ms });
        if (![...this.jobs.values()].some((h) => h.job?.steps.busy)) this.show('idle');
      },
    });
    holding.job = { compute, steps };
    const { n, cached, shared, warm } = built;
    this.platform.log.info(
      {
        event: 'job',
        job: msg.jobId,
        dataset: msg.dataset.sha256.slice(0, 12),
        cached,
        threads: compute.threads,
        jobs: this.jobs.size,
        datasetShared: shared,
        ms: Math.round(performance.now() - t0),
      },
      `job ${msg.jobId}: ${compute.describe()} on ${n} samples, ${compute.threads === 1 ? '1 thread' : `${compute.threads} threads`}${this.jobs.size > 1 ? ` beside ${this.jobs.size - 1} other job${this.jobs.size > 2 ? 's' : ''}` : ''} (${cached ? 'dataset from cache' : 'dataset fetched'}${shared ? ', one copy shared with them' : ''}; warm-up ${Math.round(performance.now() - warm)} ms)`,
    );
    this.observer.job?.({ jobId: msg.jobId, config, samples: n, threads: compute.threads });
    this.send({ type: 'ready', jobId: msg.jobId });
    this.backoffMs = 200;
  }
}
