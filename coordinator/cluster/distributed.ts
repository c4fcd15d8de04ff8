// Distributed steps, the step scheduler: the coordinator's side of DESIGN.md's data flow. Each
// step's microbatches are handed out as contiguous runs to the ready workers, in proportion to
// their measured speed (shares.ts); their answers are collected in answers.ts (BatchNorm sync
// rounds reduced in microbatch order, gradient blocks checked) and the blocks reduced in the
// fixed tree (step-state.ts). A worker that fails mid-step loses its work to the others: without
// BatchNorm only its microbatches are handed out again, with BatchNorm (whose rounds couple all
// microbatches) the whole step restarts. The result never depends on who computed what
// (invariant I1).
import type { Logger } from 'pino';
import type { Trainer } from '../../shared/engine/trainer.js';
import { CLOSE, type ToCoordinator } from '../../shared/protocol.js';
import type { GradientSource, StepGradient } from '../run/run-loop.js';
import type { Telemetry } from '../run/telemetry.js';
import { type AnswerSide, onGrads, onSync } from './answers.js';
import type { CoordinatorServer, Seat } from './server.js';
import { shares } from './shares.js';
import { contiguousRuns, newStepState, reduceBlocks, sameIndices, type StepState, type Task } from './step-state.js';

/** a wait for workers is info (every start waits for its workers) until it lasts this long: then a warning */
export const WAIT_WARN_MS = 30_000;
/** how often a wait for workers is logged again */
const WAIT_REMIND_MS = 10_000;

export interface DistributedOptions {
  log: Logger;
  runId: string;
  /** workers (seats) that must be ready before the first step */
  minWorkers: number;
  /** and the compute threads their seats must have together (sweeps: a trial's threads); default 1 */
  minThreads?: number;
  onNonFinite: 'stop' | 'skip';
  /** the pool's telemetry: failures and reassignments are reported to it */
  telemetry: Telemetry;
}

export class DistributedSource implements GradientSource {
  readonly mode = 'distributed' as const;
  readonly kernel: string;
  private current: StepState | null = null;
  private readonly seen = new Set<string>();
  private waitingSince = 0;
  private waitTimer: NodeJS.Timeout | null = null;
  private started = false;
  private trainer: Trainer | null = null;
  reassignments = 0;
  failures = 0;
  /** what collecting answers (answers.ts) may do to the step */
  private readonly answers: AnswerSide;

  constructor(
    private readonly server: CoordinatorServer,
    private readonly o: DistributedOptions,
  ) {
    this.kernel = server.o.runtime.kernel;
    this.answers = {
      runId: o.runId,
      log: o.log,
      onNonFinite: o.onNonFinite,
      bad: (c, why, code) => this.bad(c, why, code),
      dispatch: () => this.dispatch(),
      isCurrent: (s) => this.current === s,
      abandon: () => {
        this.current = null;
      },
      finish: (s) => this.finish(s),
    };
    server.on('ready', this.readyListener);
    server.on('gone', this.goneListener);
    server.on('message', this.messageListener);
  }

  private readonly readyListener = (c: Seat): void => {
    if (c.jobId === this.o.runId) this.onReady();
  };
  private readonly goneListener = (c: Seat, reason: string): void => {
    if (c.jobId === this.o.runId) this.onGone(c, reason);
  };
  private readonly messageListener = (c: Seat, msg: Exclude<ToCoordinator, { type: 'hello' | 'ready' }>): void => {
    if (c.jobId === this.o.runId) this.onMessage(c, msg);
  };

  /** stop listening to the server (the run is over) */
  dispose(): void {
    this.stopWaiting();
    this.current = null;
    this.server.off('ready', this.readyListener);
    this.server.off('gone', this.goneListener);
    this.server.off('message', this.messageListener);
  }

  workers(): number {
    return this.seen.size;
  }

  gradient(trainer: Trainer, batch: Int32Array): Promise<StepGradient> {
    this.trainer = trainer;
    return new Promise((resolve, reject) => {
      const pre = this.current;
      if (pre && !pre.paramsReady && pre.step === trainer.step && sameIndices(pre.batch, batch)) {
        // handed out while the last step finished: the workers have filled their slots and
        // wait for the weights
        Object.assign(pre, {
          resolve,
          reject,
          started: performance.now(),
          paramsReady: true,
          waitMs: 0,
          bytesAtStart: this.bytes(),
        });
        if (this.waitTimer) this.waitingSince = Date.now();
        for (const t of pre.tasks) this.sendParams(pre, t.worker);
        if (pre.tasks.length === 0) this.dispatch();
        return;
      }
      this.current = this.newStep(trainer, trainer.step, batch, pre ? pre.attempt : 0, resolve, reject);
      this.dispatch();
    });
  }

  private newStep(
    trainer: Trainer,
    step: number,
    batch: Int32Array,
    attempt: number,
    resolve: (g: StepGradient) => void,
    reject: (e: Error) => void,
  ): StepState {
    return newStepState(trainer, step, batch, attempt, resolve, reject, this.bytes());
  }

  /** Send w the step's weights unless it has them (a step handed out early gets them here). */
  private sendParams(s: StepState, w: Seat): void {
    if (!s.paramsReady || w.paramsStep === s.step) return;
    w.paramsStep = s.step;
    w.send({ type: 'params', jobId: this.o.runId, step: s.step, params: this.wireParams(s) });
  }

  /** One copy of the weights per step, shared by every worker's frame (and never changed while
   *  a frame is queued). */
  private wireParams(s: StepState): Float32Array {
    s.wireParams ??= s.params.slice();
    return s.wireParams;
  }

  private bytes(): number {
    let b = 0;
    for (const c of this.server.conns.values()) b += c.bytesIn + c.bytesOut;
    return b;
  }

  private onReady(): void {
    if (this.current && this.current.tasks.length === 0) this.dispatch();
  }

  /** Hand out every uncovered microbatch of the current step to the ready workers. */
  private dispatch(): void {
    const s = this.current;
    if (!s) return;
    const ready = this.server
      .readySeats(this.o.runId)
      .sort((a, b) => a.connectedAt - b.connectedAt || a.id.localeCompare(b.id));
    const preferred = ready.filter((w) => !s.avoid.has(w));
    const workers = preferred.length > 0 ? preferred : ready;
    const need = this.started ? 1 : this.o.minWorkers;
    const needThreads = this.started ? 1 : (this.o.minThreads ?? 1);
    if (workers.length < need || workers.reduce((n, w) => n + w.threads, 0) < needThreads) {
      this.waitForWorkers(need, needThreads);
      return;
    }
    this.started = true;
    if (this.waitTimer) s.waitMs += Date.now() - this.waitingSince;
    this.stopWaiting();
    if (s.bn) {
      // BN rounds couple all microbatches: (re)start the whole step
      s.blocks.clear();
      s.covered.fill(0);
      s.bnStats.clear();
      s.roundsDone = 0;
    }
    // hand out what is neither done nor being computed by a live worker
    const busy = new Uint8Array(s.covered.length);
    for (const t of s.tasks) busy.fill(1, t.first, t.first + t.count);
    const todo: number[] = [];
    s.covered.forEach((done, i) => {
      if (!done && !busy[i]) todo.push(i);
    });
    if (todo.length === 0) return;
    s.attempt++;
    const counts = shares(
      todo.length,
      workers.map((w) => w.speed),
    );
    let k = 0;
    workers.forEach((w, wi) => {
      const mine = todo.slice(k, k + counts[wi]!);
      k += counts[wi]!;
      // a share may span gaps in `todo`: one task per contiguous run
      for (const run of contiguousRuns(mine)) this.assign(s, w, run[0]!, run.length);
    });
  }

  private assign(s: StepState, w: Seat, first: number, count: number): void {
    const task: Task = { worker: w, attempt: s.attempt, first, count, rounds: new Map() };
    s.tasks.push(task);
    s.participants.add(w.id);
    this.seen.add(w.name === '?' ? w.id : w.name);
    const samples = new Int32Array(s.parts.slice(first, first + count).reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of s.parts.slice(first, first + count)) {
      samples.set(p, o);
      o += p.length;
    }
    // the weights ride along unless the worker has them or they do not exist yet (sendParams)
    const params = s.paramsReady && w.paramsStep !== s.step ? this.wireParams(s) : undefined;
    if (params) w.paramsStep = s.step;
    w.send({
      type: 'step',
      jobId: this.o.runId,
      step: s.step,
      attempt: s.attempt,
      firstMicrobatch: first,
      microbatch: s.parts[0]!.length,
      samples,
      ...(params ? { params } : {}),
    });
  }

  private waitForWorkers(need: number, needThreads: number): void {
    if (this.waitTimer) return;
    this.waitingSince = Date.now();
    let reminders = 0; // say() runs now, then every WAIT_REMIND_MS
    // the first word is info (every start waits for its workers); still waiting after
    // WAIT_WARN_MS, and every reminder after that, is a warning
    const say = (): void => {
      const seats = this.server.readySeats(this.o.runId);
      const threads = seats.reduce((n, w) => n + w.threads, 0);
      const long = reminders++ * WAIT_REMIND_MS >= WAIT_WARN_MS;
      this.o.log[long ? 'warn' : 'info'](
        {
          run: this.o.runId,
          event: 'waiting',
          workers: seats.length,
          need,
          ...(needThreads > 1 ? { threads, needThreads } : {}),
          waitedMs: Date.now() - this.waitingSince,
        },
        `waiting for workers: ${seats.length} ready, ${need} needed${needThreads > 1 ? ` (${threads} of ${needThreads} compute threads)` : ''} (step ${this.current?.step ?? '-'})`,
      );
    };
    say();
    // unref: the reminder alone must not keep the process alive once the run has stopped
    // (SIGTERM while waiting for workers)
    this.waitTimer = setInterval(say, WAIT_REMIND_MS).unref();
  }

  private stopWaiting(): void {
    if (this.waitTimer) clearInterval(this.waitTimer);
    this.waitTimer = null;
  }

  private onGone(c: Seat, reason: string): void {
    const s = this.current;
    if (!s) return;
    const lost = s.tasks.filter((t) => t.worker === c);
    if (lost.length === 0) return;
    this.failures++;
    this.reassignments++;
    this.o.telemetry.failure(this.o.runId, c.name, reason);
    this.o.telemetry.reassignment(
      this.o.runId,
      lost.reduce((n, t) => n + t.count, 0),
    );
    s.tasks = s.tasks.filter((t) => t.worker !== c);
    this.o.log.warn(
      {
        run: this.o.runId,
        event: 'reassign',
        step: s.step,
        worker: c.id,
        name: c.name,
        reason,
        restart: s.bn,
      },
      `step ${s.step}: worker ${c.label()} ${reason}; ${s.bn ? 'restarting the step (BatchNorm sync in flight)' : `its ${lost.reduce((n, t) => n + t.count, 0)} microbatches go to the others`}`,
    );
    if (s.bn) s.tasks = [];
    this.dispatch();
  }

  private onMessage(c: Seat, msg: Exclude<ToCoordinator, { type: 'hello' | 'ready' }>): void {
    const s = this.current;
    if (msg.type !== 'sync' && msg.type !== 'grads') return;
    if (msg.jobId !== this.o.runId) return; // a late answer for a job this worker has left
    if (!s || msg.step !== s.step) {
      if (s && msg.step < s.step) return; // late answer to a finished step
      return this.server.unexpected(c.conn, msg.type);
    }
    const first = msg.type === 'grads' ? msg.blocks[0]?.start : undefined;
    const task = s.tasks.find(
      (t) => t.worker === c && t.attempt === msg.attempt && (first === undefined || t.first === first),
    );
    if (!task) {
      if (msg.attempt < s.attempt) return; // an attempt that was superseded
      return this.server.unexpected(c.conn, msg.type);
    }
    if (msg.type === 'sync') onSync(this.answers, s, task, msg);
    else onGrads(this.answers, s, task, msg);
  }

  private bad(c: Seat, why: string, code: 'E_BAD_RESULT' | 'E_NON_FINITE' = 'E_BAD_RESULT'): void {
    this.server.reject(c.conn, code, CLOSE.BAD_RESULT, why);
  }

  private finish(s: StepState): void {
    this.current = null;
    const ms = performance.now() - s.started;
    const bytes = this.bytes() - s.bytesAtStart;
    // hand out the next step's samples now: the workers fill their slots while this step's
    // gradient is reduced and applied, and start when the weights follow (sendParams)
    const next = this.trainer?.batchAfter();
    if (this.trainer && next) {
      const noop = (): void => {};
      this.current = this.newStep(this.trainer, s.step + 1, next, 0, noop, noop);
      this.current.paramsReady = false;
      this.dispatch();
    }
    s.resolve({
      ...reduceBlocks(s),
      bnStats: s.bnStats,
      info: {
        workers: s.participants.size,
        attempts: s.attempt,
        bytes,
        computeMs: Math.round(s.computeMs * 100) / 100,
        commMs: Math.round(Math.max(0, ms - s.waitMs - s.computeMs) * 100) / 100,
        waitMs: s.waitMs,
      },
    });
  }
}
