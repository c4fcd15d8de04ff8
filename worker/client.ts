// The worker: connects to a coordinator, proves it knows the token (HMAC over the server's
// nonce), loads the job's dataset by hash, and computes its share of each step with the
// shared core — sending BatchNorm partial values when the pass reaches a BN layer and the
// pre-reduced gradient blocks at the end. It reconnects with backoff when the connection
// drops and exits 0 when its coordinator's run is done (unless told to stay).
import { createKernels, kernelFacts } from '../shared/kernels/index.js';
import { createHmac, randomInt } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { parseRunConfig } from '../shared/config.js';
import type { RunConfig } from '../shared/config-types.js';
import type { Dataset } from '../shared/data/dataset.js';
import { runPassLocally } from '../shared/engine/trainer.js';
import {
  fillSlot,
  newSlot,
  trainPass,
  type PassOutcome,
  type Slot,
  type SyncReply,
  type SyncRequest,
} from '../shared/engine/pass.js';
import { resultBlocks } from '../shared/engine/sharded.js';
import { Model } from '../shared/nn/model.js';
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
import { getDataset } from './dataset-cache.js';

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
  /** silence from the coordinator after which the connection is dropped and retried */
  heartbeatTimeoutMs: number;
  ca?: Buffer;
  /** largest frame accepted; default MAX_FRAME_BYTES, or GRADWIRE_MAX_FRAME_BYTES (tests) */
  maxFrameBytes?: number;
}

interface Job {
  id: string;
  config: RunConfig;
  data: Dataset;
  model: Model;
  slots: Slot[];
}

interface Pass {
  step: number;
  attempt: number;
  round: number;
  slots: Slot[];
  /** null while the step waits for its weights */
  gen: Generator<SyncRequest, PassOutcome, SyncReply> | null;
  started: number;
}

/** The worker masks its frames with a zero key, so ws sends the payloads as they are instead of
 *  copying them through the mask. Masking guards intermediaries against a hostile script in a
 *  browser choosing the bytes on the wire; a worker is not such a client (RFC 6455 §10.3). */
const ZERO_MASK = (mask: Buffer): void => {
  mask.fill(0);
};

/** Errors after which retrying cannot help: the worker exits with code 2. */
const FATAL = new Set(['E_AUTH', 'E_PROTOCOL_VERSION', 'E_INCOMPATIBLE']);

/** Run a few throwaway passes over two microbatches before the first step, so the JIT and the
 *  WebAssembly tier-up happen at job load instead of inside training steps. Uses the first rows
 *  of the dataset and changes no weight; the two slots are kept for the steps. */
export function warmUp(model: Model, data: Dataset, microbatch: number, seed: number): Slot[] {
  const slots = [newSlot(model, microbatch), newSlot(model, microbatch)];
  const rows = Math.min(microbatch, data.n);
  const t0 = performance.now();
  for (let pass = 0; pass < 20 && (pass < 3 || performance.now() - t0 < 150); pass++) {
    slots.forEach((s, i) =>
      fillSlot(
        s,
        data,
        Int32Array.from({ length: rows }, (_, r) => (i * rows + r) % data.n),
        i,
      ),
    );
    runPassLocally(model, slots, seed, 0, true);
    resultBlocks(slots, model.k, true);
  }
  return slots;
}

export function defaultWorkerName(): string {
  return `${hostname()}-${process.pid}`;
}

export class WorkerClient {
  private ws: WebSocket | null = null;
  private job: Job | null = null;
  private pass: Pass | null = null;
  /** the step whose weights the model holds (-1: none yet on this connection and job) */
  private paramsStep = -1;
  private session = '';
  private backoffMs = 200;
  private fatal: string | null = null;
  private done = false;
  private stopped = false;
  private lastHeard = Date.now();
  private watchdog: NodeJS.Timeout | null = null;
  private finish: (code: number) => void = () => {};
  stepsComputed = 0;
  private readonly maxFrameBytes: number;

  constructor(private readonly o: WorkerOptions) {
    this.maxFrameBytes = o.maxFrameBytes ?? frameLimit(process.env.GRADWIRE_MAX_FRAME_BYTES);
  }

  /** For the status file: connecting (no connection yet or again), idle, working (a step). */
  /** the run id of the job this worker holds (dataset loaded, model built); null when none */
  get jobId(): string | null {
    return this.job?.id ?? null;
  }

  get state(): 'connecting' | 'idle' | 'working' {
    if (this.ws === null || this.ws.readyState !== WebSocket.OPEN) return 'connecting';
    return this.pass ? 'working' : 'idle';
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
    this.finish(code);
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
        if (this.job === null && msg.type === 'job')
          this.send({ type: 'job-failed', jobId: msg.jobId, code: 'E_JOB', message: err.message });
      });
    });
    ws.on('error', (e) =>
      this.o.log.warn({ event: 'socket-error', err: e.message }, `connection to ${this.o.url}: ${e.message}`),
    );
    ws.on('close', (code, reason) => {
      this.pass = null;
      this.paramsStep = -1;
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
        return this.startStep(msg);
      case 'params':
        return this.setParams(msg);
      case 'sync-result':
        return this.resume(msg);
      case 'job-done':
        this.o.log.info({ event: 'job-done', job: msg.jobId, steps: this.stepsComputed }, `run ${msg.jobId} done`);
        this.job = null;
        this.done = true;
        if (!this.o.stay) this.ws?.close(CLOSE.NORMAL, 'run done');
        return;
      case 'error':
        this.o.log.error({ event: 'coordinator-error', code: msg.code }, `coordinator: ${msg.code}: ${msg.message}`);
        if (FATAL.has(msg.code)) this.fatal = `${msg.code}: ${msg.message}`;
        return;
    }
  }

  private async loadJob(msg: Extract<ToWorker, { type: 'job' }>): Promise<void> {
    this.job = null;
    this.paramsStep = -1;
    this.done = false;
    const config = parseRunConfig(msg.config);
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
    );
    const model = Model.fromConfig(config.model, data.features, data.classes, createKernels());
    const warm = performance.now();
    const slots = warmUp(model, data, Math.min(config.microbatch, config.batchSize), config.seed);
    this.job = { id: msg.jobId, config, data, model, slots };
    this.o.log.info(
      {
        event: 'job',
        job: msg.jobId,
        dataset: msg.dataset.sha256.slice(0, 12),
        cached,
        ms: Math.round(performance.now() - t0),
      },
      `job ${msg.jobId}: ${model.describe()} on ${data.n} samples (${cached ? 'dataset from cache' : 'dataset fetched'}; warm-up ${Math.round(performance.now() - warm)} ms)`,
    );
    this.send({ type: 'ready', jobId: msg.jobId });
    this.backoffMs = 200;
  }

  /** Take the weights of a step; start the step's pass if it was waiting for them. */
  private setParams(msg: { jobId: string; step: number; params: Float32Array }): void {
    const job = this.job;
    if (!job || msg.jobId !== job.id) throw new Error(`weights for job ${msg.jobId}, which this worker has not loaded`);
    if (msg.params.length !== job.model.params.length)
      throw new Error(`weights of length ${msg.params.length}; the model has ${job.model.params.length}`);
    job.model.params.set(msg.params);
    this.paramsStep = msg.step;
    if (this.pass && this.pass.gen === null && this.pass.step === msg.step) this.begin(this.pass);
  }

  private startStep(msg: Extract<ToWorker, { type: 'step' }>): void {
    const job = this.job;
    if (!job || msg.jobId !== job.id) throw new Error(`step for job ${msg.jobId}, which this worker has not loaded`);
    if (msg.params) this.setParams({ jobId: msg.jobId, step: msg.step, params: msg.params });
    const size = msg.microbatch;
    const count = Math.ceil(msg.samples.length / size);
    while (job.slots.length < count) job.slots.push(newSlot(job.model, size));
    const slots = job.slots.slice(0, count);
    for (let k = 0; k < count; k++) {
      fillSlot(
        slots[k]!,
        job.data,
        msg.samples.subarray(k * size, Math.min((k + 1) * size, msg.samples.length)),
        msg.firstMicrobatch + k,
      );
    }
    this.pass = { step: msg.step, attempt: msg.attempt, round: 0, slots, started: 0, gen: null };
    if (this.paramsStep === msg.step) this.begin(this.pass);
  }

  private begin(p: Pass): void {
    const job = this.job!;
    p.started = performance.now();
    p.gen = trainPass(job.model, p.slots, job.config.seed, p.step, true);
    this.advance(p.gen.next());
  }

  private resume(msg: Extract<ToWorker, { type: 'sync-result' }>): void {
    const p = this.pass;
    if (!p?.gen || p.step !== msg.step || p.attempt !== msg.attempt || p.round !== msg.round) return; // superseded
    p.round++;
    this.advance(p.gen.next(msg.value));
  }

  private advance(r: IteratorResult<SyncRequest, PassOutcome>): void {
    const p = this.pass!;
    const jobId = this.job!.id;
    if (!r.done) {
      this.send({
        type: 'sync',
        jobId,
        step: p.step,
        attempt: p.attempt,
        round: p.round,
        kind: r.value.kind,
        layer: r.value.layer,
        partials: r.value.partials,
      });
      return;
    }
    this.pass = null;
    this.stepsComputed++;
    // the blocks are copied out of the slots: a write still queued must not see the next pass
    this.send({
      type: 'grads',
      jobId,
      step: p.step,
      attempt: p.attempt,
      blocks: resultBlocks(p.slots, this.job!.model.k, true).map((b) => ({ ...b, grads: b.grads.slice() })),
      computeMs: performance.now() - p.started,
    });
  }
}
