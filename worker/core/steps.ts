// A worker's steps on one connection: the coordinator's `step` assignments (queued when one
// arrives while a pass runs — a second run of the same step — or replacing the pass in
// progress when the model has BatchNorm and a new attempt restarts the step), the weights of
// each step (given to the compute once, when its pass begins), and driving a pass: each
// BatchNorm round goes out as one `sync` message, the run's blocks as one `grads` message. A
// compute thread lost mid-step: the pass runs again at once when no round of it was sent yet;
// otherwise the connection is dropped so the coordinator hands the step out again.
import type { SyncReply, SyncRequest } from '../../shared/engine/pass.js';
import type { ResultBlock } from '../../shared/engine/sharded.js';
import type { ToCoordinator, ToWorker } from '../../shared/protocol.js';
import { type Compute, type PassInput, ThreadLostError } from './compute.js';
import type { CoreLogger } from './platform.js';

/** What the step runner asks of the connection. */
export interface StepSide {
  log: CoreLogger;
  send(msg: ToCoordinator): void;
  /** close the connection (the coordinator reassigns this worker's work); it reconnects */
  drop(reason: string): void;
  /** a test hook: is the pass of `step` to be reported lost after its first BatchNorm round
   *  (true once)? */
  lateFault(step: number): boolean;
  /** this worker's share of `step` was sent: its samples and the pass's wall time (ms) */
  done?(step: number, samples: number, ms: number): void;
}

interface Pass {
  input: PassInput;
  attempt: number;
  /** BatchNorm rounds answered so far */
  round: number;
  /** sync messages sent in this attempt */
  sent: number;
  /** null while the pass waits for its weights */
  gen: AsyncGenerator<SyncRequest, ResultBlock[], SyncReply> | null;
  /** when the pass began (its first run, if it ran again) */
  started: number;
}

export class StepRunner {
  private pass: Pass | null = null;
  private readonly queue: Pass[] = [];
  /** the latest weights received and their step */
  private params: { step: number; values: Float32Array } | null = null;
  /** the step whose weights the compute holds (-1: none) */
  private computeStep = -1;
  stepsComputed = 0;

  constructor(
    private readonly jobId: string,
    private readonly compute: Compute,
    private readonly side: StepSide,
  ) {}

  get busy(): boolean {
    return this.pass !== null;
  }

  /** The connection closed: everything in flight is dropped (the coordinator reassigns it). */
  reset(): void {
    this.pass = null;
    this.queue.length = 0;
    this.params = null;
    this.computeStep = -1;
  }

  /** Take the weights of a step; start the step's pass if it was waiting for them. */
  setParams(msg: { jobId: string; step: number; params: Float32Array }): void {
    if (msg.jobId !== this.jobId) throw new Error(`weights for job ${msg.jobId}, which this worker has not loaded`);
    if (msg.params.length !== this.compute.paramCount)
      throw new Error(`weights of length ${msg.params.length}; the model has ${this.compute.paramCount}`);
    this.params = { step: msg.step, values: msg.params };
    const p = this.pass;
    if (p && p.gen === null && p.input.step === msg.step) this.begin(p);
  }

  startStep(msg: Extract<ToWorker, { type: 'step' }>): void {
    if (msg.jobId !== this.jobId) throw new Error(`step for job ${msg.jobId}, which this worker has not loaded`);
    if (msg.params) this.setParams({ jobId: msg.jobId, step: msg.step, params: msg.params });
    const p: Pass = {
      input: { step: msg.step, samples: msg.samples, microbatch: msg.microbatch, firstMicrobatch: msg.firstMicrobatch },
      attempt: msg.attempt,
      round: 0,
      sent: 0,
      gen: null,
      started: 0,
    };
    if (this.pass && !this.compute.batchNorm) {
      // another run of a step (microbatches of a lost worker): after the one in progress
      this.queue.push(p);
      return;
    }
    // with BatchNorm a new attempt restarts the step: the pass in progress is abandoned
    this.queue.length = 0;
    this.pass = p;
    if (this.params?.step === msg.step) this.begin(p);
  }

  private begin(p: Pass): void {
    if (this.computeStep !== p.input.step) {
      this.compute.setParams(this.params!.values);
      this.computeStep = p.input.step;
    }
    if (p.started === 0) p.started = performance.now();
    p.gen = this.compute.pass(p.input);
    this.drive(p, p.gen.next());
  }

  resume(msg: Extract<ToWorker, { type: 'sync-result' }>): void {
    const p = this.pass;
    if (!p?.gen || p.input.step !== msg.step || p.attempt !== msg.attempt || p.round !== msg.round) return; // superseded
    if (p.sent !== p.round + 1) return; // not asked for
    p.round++;
    this.drive(p, p.gen.next(msg.value));
  }

  private drive(p: Pass, next: Promise<IteratorResult<SyncRequest, ResultBlock[]>>): void {
    const gen = p.gen;
    next.then(
      (r) => {
        if (this.pass !== p || p.gen !== gen) return; // superseded meanwhile
        if (!r.done) {
          if (p.sent > 0 && this.side.lateFault(p.input.step)) {
            return this.lost(p, new ThreadLostError('injected: a thread lost after a BatchNorm round (test hook)'));
          }
          p.sent++;
          this.side.send({
            type: 'sync',
            jobId: this.jobId,
            step: p.input.step,
            attempt: p.attempt,
            round: p.round,
            kind: r.value.kind,
            layer: r.value.layer,
            partials: r.value.partials,
          });
          return;
        }
        this.stepsComputed++;
        const ms = performance.now() - p.started;
        this.side.send({
          type: 'grads',
          jobId: this.jobId,
          step: p.input.step,
          attempt: p.attempt,
          blocks: r.value,
          // as before threads: the pass's wall time, BatchNorm rounds' waits included
          computeMs: ms,
        });
        this.next();
        this.side.done?.(p.input.step, p.input.samples.length, ms);
      },
      (e: unknown) => {
        if (this.pass !== p || p.gen !== gen) return;
        if (e instanceof ThreadLostError) return this.lost(p, e);
        const message = (e as Error)?.message ?? String(e);
        this.side.log.error(
          { event: 'pass-error', step: p.input.step, err: message },
          `step ${p.input.step}: the pass failed: ${message}; dropping the connection`,
        );
        this.side.drop('pass failed');
      },
    );
  }

  /** A compute thread was lost (the team has replaced it). */
  private lost(p: Pass, e: Error): void {
    const again = p.sent === 0;
    this.side.log.warn(
      { event: 'thread-lost', step: p.input.step, attempt: p.attempt, rerun: again, err: e.message },
      again
        ? `step ${p.input.step}: ${e.message}; running the pass again`
        : `step ${p.input.step}: ${e.message} after a BatchNorm round was sent; dropping the connection so the step is handed out again`,
    );
    if (again) this.begin(p);
    else this.side.drop('a compute thread was lost mid-step');
  }

  /** The pass is done: the next queued run of the step, if any. */
  private next(): void {
    this.pass = this.queue.shift() ?? null;
    const p = this.pass;
    if (p && this.params?.step === p.input.step) this.begin(p);
  }
}
