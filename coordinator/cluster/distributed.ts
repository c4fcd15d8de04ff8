// Distributed steps: the coordinator's side of DESIGN.md's data flow. Each step's
// microbatches are handed out as contiguous runs to the ready workers, in proportion to their
// measured speed; BatchNorm sync rounds are reduced here in microbatch order; gradient blocks
// are reduced in the fixed tree. A worker that fails mid-step loses its work to the others:
// without BatchNorm only its microbatches are handed out again, with BatchNorm (whose rounds
// couple all microbatches) the whole step restarts. The result never depends on who computed
// what (invariant I1).
import type { Logger } from 'pino';
import { microbatches, reduceSync, type Trainer } from '../../shared/engine/trainer.js';
import { alignedBlocks, addInto, treeReduce, type Block } from '../../shared/engine/reduce.js';
import { UserError } from '../../shared/errors.js';
import { BatchNorm } from '../../shared/nn/norms.js';
import { CLOSE, type GradBlock, type ToCoordinator } from '../../shared/protocol.js';
import type { SyncRequest } from '../../shared/engine/pass.js';
import type { GradientSource, StepGradient } from '../run/run-loop.js';
import type { CoordinatorServer, WorkerConn } from './server.js';
import type { Telemetry } from '../run/telemetry.js';
import { shares } from './shares.js';

interface Task {
  worker: WorkerConn;
  attempt: number;
  first: number;
  count: number;
  /** BN steps: the partials this task sent, by round */
  rounds: Map<number, Float64Array[]>;
}

interface StepState {
  step: number;
  attempt: number;
  /** the step's global batch (sample indices) */
  batch: Int32Array;
  /** the model's weights (updated in place by the optimizer) */
  params: Float32Array;
  /** false while the step is handed out ahead of its weights (see finish) */
  paramsReady: boolean;
  /** the copy of params the step's frames carry */
  wireParams?: Float32Array;
  /** sample indices of each microbatch */
  parts: Int32Array[];
  blocks: Map<number, GradBlock>;
  covered: Uint8Array;
  tasks: Task[];
  bn: boolean;
  /** BatchNorm sync rounds per pass: one forward and one backward per BN layer */
  bnRounds: number;
  /** BN steps: reduced values by round, and forward statistics by layer */
  bnStats: Map<number, Float64Array>;
  roundsDone: number;
  /** microbatch index → the workers that reported it non-finite (not yet confirmed) */
  nonFinite: Map<number, WorkerConn[]>;
  /** workers not to hand this step's work to, while another one can take it */
  avoid: Set<WorkerConn>;
  resolve: (g: StepGradient) => void;
  reject: (e: Error) => void;
  bytesAtStart: number;
  started: number;
  computeMs: number;
  /** workers that were handed work in this step */
  participants: Set<string>;
  /** time spent waiting for workers before any work was handed out */
  waitMs: number;
}

export interface DistributedOptions {
  log: Logger;
  runId: string;
  minWorkers: number;
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

  constructor(
    private readonly server: CoordinatorServer,
    private readonly o: DistributedOptions,
  ) {
    this.kernel = server.o.runtime.kernel;
    server.on('ready', this.readyListener);
    server.on('gone', this.goneListener);
    server.on('message', this.messageListener);
  }

  private readonly readyListener = (c: WorkerConn): void => {
    if (c.jobId === this.o.runId) this.onReady();
  };
  private readonly goneListener = (c: WorkerConn, reason: string): void => this.onGone(c, reason);
  private readonly messageListener = (
    c: WorkerConn,
    msg: Exclude<ToCoordinator, { type: 'hello' | 'ready' }>,
  ): void => {
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
    const mb = Math.min(trainer.cfg.microbatch, trainer.cfg.batchSize);
    return {
      step,
      attempt,
      batch,
      params: trainer.model.params,
      paramsReady: true,
      parts: microbatches(batch, mb),
      blocks: new Map(),
      covered: new Uint8Array(Math.ceil(batch.length / mb)),
      tasks: [],
      bn: trainer.model.layers.some((l) => l instanceof BatchNorm),
      bnRounds: 2 * trainer.model.layers.filter((l) => l instanceof BatchNorm).length,
      bnStats: new Map(),
      roundsDone: 0,
      nonFinite: new Map(),
      avoid: new Set(),
      resolve,
      reject,
      bytesAtStart: this.bytes(),
      started: performance.now(),
      computeMs: 0,
      participants: new Set(),
      waitMs: 0,
    };
  }

  /** Send w the step's weights unless it has them (a step handed out early gets them here). */
  private sendParams(s: StepState, w: WorkerConn): void {
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
      .readyWorkers(this.o.runId)
      .sort((a, b) => a.connectedAt - b.connectedAt || a.id.localeCompare(b.id));
    const preferred = ready.filter((w) => !s.avoid.has(w));
    const workers = preferred.length > 0 ? preferred : ready;
    const need = this.started ? 1 : this.o.minWorkers;
    if (workers.length < need) {
      this.waitForWorkers(need);
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

  private assign(s: StepState, w: WorkerConn, first: number, count: number): void {
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

  private waitForWorkers(need: number): void {
    if (this.waitTimer) return;
    this.waitingSince = Date.now();
    const say = (): void => {
      const n = this.server.readyWorkers(this.o.runId).length;
      this.o.log.warn(
        { run: this.o.runId, event: 'waiting', workers: n, need, waitedMs: Date.now() - this.waitingSince },
        `waiting for workers: ${n} ready, ${need} needed (step ${this.current?.step ?? '-'})`,
      );
    };
    say();
    // unref: the reminder alone must not keep the process alive once the run has stopped
    // (SIGTERM while waiting for workers)
    this.waitTimer = setInterval(say, 10_000).unref();
  }

  private stopWaiting(): void {
    if (this.waitTimer) clearInterval(this.waitTimer);
    this.waitTimer = null;
  }

  private onGone(c: WorkerConn, reason: string): void {
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

  private onMessage(c: WorkerConn, msg: Exclude<ToCoordinator, { type: 'hello' | 'ready' }>): void {
    const s = this.current;
    if (msg.type !== 'sync' && msg.type !== 'grads') return;
    if (msg.jobId !== this.o.runId) return; // a late answer for a job this worker has left
    if (!s || msg.step !== s.step) {
      if (s && msg.step < s.step) return; // late answer to a finished step
      return this.server.unexpected(c, msg.type);
    }
    const first = msg.type === 'grads' ? msg.blocks[0]?.start : undefined;
    const task = s.tasks.find(
      (t) => t.worker === c && t.attempt === msg.attempt && (first === undefined || t.first === first),
    );
    if (!task) {
      if (msg.attempt < s.attempt) return; // an attempt that was superseded
      return this.server.unexpected(c, msg.type);
    }
    if (msg.type === 'sync') this.onSync(s, task, msg);
    else this.onGrads(s, task, msg);
  }

  private bad(c: WorkerConn, why: string, code: 'E_BAD_RESULT' | 'E_NON_FINITE' = 'E_BAD_RESULT'): void {
    this.server.reject(c, code, CLOSE.BAD_RESULT, why);
  }

  private onSync(s: StepState, task: Task, msg: Extract<ToCoordinator, { type: 'sync' }>): void {
    if (!s.bn || msg.round !== s.roundsDone || task.rounds.has(msg.round)) {
      return this.bad(task.worker, `sync round ${msg.round} out of order (expected ${s.roundsDone})`);
    }
    if (msg.partials.length !== task.count) {
      return this.bad(
        task.worker,
        `sync round ${msg.round}: ${msg.partials.length} partial values for ${task.count} microbatches`,
      );
    }
    const width = msg.partials[0]?.length ?? 0;
    if (msg.partials.some((p) => p.length !== width || p.some((v) => !Number.isFinite(v)))) {
      return this.bad(
        task.worker,
        `sync round ${msg.round}: partial values of unequal length or not finite`,
        'E_NON_FINITE',
      );
    }
    task.rounds.set(msg.round, msg.partials);
    const tasks = s.tasks.filter((t) => t.attempt === s.attempt);
    if (tasks.some((t) => !t.rounds.has(msg.round))) return;
    // every task answered this round: reduce in microbatch order and answer
    const ordered = [...tasks].sort((a, b) => a.first - b.first);
    const widths = new Set(ordered.map((t) => t.rounds.get(msg.round)![0]!.length));
    if (widths.size !== 1) return this.bad(task.worker, `sync round ${msg.round}: partial values of the wrong length`);
    const req = {
      kind: msg.kind,
      layer: msg.layer,
      partials: ordered.flatMap((t) => t.rounds.get(msg.round)!),
    } as SyncRequest;
    const value = reduceSync(req);
    if (msg.kind === 'bn-forward') s.bnStats.set(msg.layer, value);
    s.roundsDone++;
    for (const t of ordered) {
      t.worker.send({
        type: 'sync-result',
        jobId: this.o.runId,
        step: s.step,
        attempt: s.attempt,
        round: msg.round,
        value,
      });
    }
  }

  private onGrads(s: StepState, task: Task, msg: Extract<ToCoordinator, { type: 'grads' }>): void {
    const want = alignedBlocks(task.first, task.first + task.count);
    const n = s.params.length;
    if (
      msg.blocks.length !== want.length ||
      msg.blocks.some((b, i) => b.start !== want[i]!.start || b.size !== want[i]!.size)
    ) {
      return this.bad(
        task.worker,
        `step ${s.step}: gradient blocks do not match the assigned microbatches ${task.first}..${task.first + task.count - 1}`,
      );
    }
    if (msg.blocks.some((b) => b.grads.length !== n)) {
      return this.bad(
        task.worker,
        `step ${s.step}: gradient of length ${msg.blocks.find((b) => b.grads.length !== n)!.grads.length}, the model has ${n} parameters`,
      );
    }
    if (s.roundsDone !== s.bnRounds) {
      return this.bad(task.worker, `step ${s.step}: gradient before the BatchNorm rounds finished`);
    }
    const range = Array.from({ length: task.count }, (_, k) => task.first + k);
    const bad = msg.blocks.filter((b) => !Number.isFinite(b.lossSum) || !allFinite(b.grads));
    if (bad.length > 0) {
      const indices = bad.flatMap((b) => Array.from({ length: b.size }, (_, k) => b.start + k));
      const confirmed = indices.every((i) => s.nonFinite.has(i));
      if (!confirmed) {
        // one report could come from a faulty worker: recompute elsewhere before believing it
        for (const i of indices) s.nonFinite.set(i, [...(s.nonFinite.get(i) ?? []), task.worker]);
        s.avoid.add(task.worker);
        this.o.log.warn(
          {
            run: this.o.runId,
            event: 'non-finite-recheck',
            step: s.step,
            worker: task.worker.id,
            name: task.worker.name,
            first: task.first,
            count: task.count,
          },
          `step ${s.step}: worker ${task.worker.label()} sent a non-finite gradient for microbatches ${task.first}..${task.first + task.count - 1}; recomputing them`,
        );
        s.tasks = s.bn ? [] : s.tasks.filter((t) => t !== task);
        this.dispatch();
        return;
      }
      if (this.o.onNonFinite === 'stop') {
        s.reject(
          new UserError(
            'NON_FINITE',
            `step ${s.step}: the gradient is not finite (computed twice, last by worker ${task.worker.label()}); lower optimizer.lr, set optimizer.clipNorm, or set onNonFinite: skip`,
          ),
        );
        this.current = null;
        return;
      }
      for (const i of indices) s.nonFinite.delete(i);
    }
    // workers that reported these microbatches non-finite when they are not: faulty
    const liars = new Set<WorkerConn>();
    for (const i of range) {
      if (bad.some((b) => i >= b.start && i < b.start + b.size)) continue;
      for (const w of s.nonFinite.get(i) ?? []) liars.add(w);
      s.nonFinite.delete(i);
    }
    s.computeMs = Math.max(s.computeMs, msg.computeMs);
    const rows = s.parts.slice(task.first, task.first + task.count).reduce((a, p) => a + p.length, 0);
    if (msg.computeMs > 0) {
      const speed = rows / msg.computeMs;
      task.worker.speed = task.worker.speed === 0 ? speed : 0.7 * task.worker.speed + 0.3 * speed;
    }
    s.tasks = s.tasks.filter((t) => t !== task);
    for (const b of msg.blocks) {
      s.blocks.set(b.start, b);
      for (let i = b.start; i < b.start + b.size; i++) s.covered[i] = 1;
    }
    for (const w of liars) {
      if (w !== task.worker)
        this.bad(
          w,
          `step ${s.step}: sent a non-finite gradient that worker ${task.worker.label()} computed finite`,
          'E_NON_FINITE',
        );
    }
    if (this.current === s && s.covered.every((v) => v === 1)) this.finish(s);
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
    const blocks = [...s.blocks.values()].sort((a, b) => a.start - b.start);
    const gradSum = treeReduce<Float32Array>(
      blocks.map((b): Block<Float32Array> => ({ start: b.start, size: b.size, value: b.grads })),
      addInto,
      true,
    );
    const lossSum = treeReduce<number>(
      blocks.map((b): Block<number> => ({ start: b.start, size: b.size, value: b.lossSum })),
      (a, b) => a + b,
      true,
    );
    const correct = blocks.reduce((a, b) => a + b.correct, 0);
    s.resolve({
      gradSum,
      lossSum,
      correct,
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

function sameIndices(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

function contiguousRuns(xs: number[]): number[][] {
  const runs: number[][] = [];
  for (const x of xs) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] === x - 1) last.push(x);
    else runs.push([x]);
  }
  return runs;
}
