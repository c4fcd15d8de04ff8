// Collecting a distributed step's answers: a worker's BatchNorm partial values (`sync`), reduced
// in microbatch order and sent back once every task of the attempt answered the round, and its
// gradient blocks (`grads`), checked against its assignment, with a non-finite report rechecked
// on another worker before it is believed. A bad answer closes the worker; its work goes to the
// others (the scheduler's reassignment, distributed.ts).
import type { Logger } from 'pino';
import type { SyncRequest } from '../../shared/engine/pass.js';
import { alignedBlocks } from '../../shared/engine/reduce.js';
import { reduceSync } from '../../shared/engine/trainer.js';
import { UserError } from '../../shared/errors.js';
import type { ToCoordinator } from '../../shared/protocol.js';
import { allFinite, type StepState, type Task } from './step-state.js';
import type { Seat } from './worker-conn.js';

/** What collecting answers asks of the step scheduler. */
export interface AnswerSide {
  runId: string;
  log: Logger;
  onNonFinite: 'stop' | 'skip';
  /** close a worker that sent a bad answer */
  bad(c: Seat, why: string, code?: 'E_BAD_RESULT' | 'E_NON_FINITE'): void;
  /** hand out the step's uncovered microbatches again */
  dispatch(): void;
  /** is `s` still the step being computed? */
  isCurrent(s: StepState): boolean;
  /** the step failed (its promise was rejected): forget it */
  abandon(): void;
  /** every microbatch is covered: reduce and resolve the step */
  finish(s: StepState): void;
}

/** A worker's BatchNorm partial values for one round. */
export function onSync(
  side: AnswerSide,
  s: StepState,
  task: Task,
  msg: Extract<ToCoordinator, { type: 'sync' }>,
): void {
  if (!s.bn || msg.round !== s.roundsDone || task.rounds.has(msg.round)) {
    return side.bad(task.worker, `sync round ${msg.round} out of order (expected ${s.roundsDone})`);
  }
  if (msg.partials.length !== task.count) {
    return side.bad(
      task.worker,
      `sync round ${msg.round}: ${msg.partials.length} partial values for ${task.count} microbatches`,
    );
  }
  const width = msg.partials[0]?.length ?? 0;
  if (msg.partials.some((p) => p.length !== width || p.some((v) => !Number.isFinite(v)))) {
    return side.bad(
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
  if (widths.size !== 1) return side.bad(task.worker, `sync round ${msg.round}: partial values of the wrong length`);
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
      jobId: side.runId,
      step: s.step,
      attempt: s.attempt,
      round: msg.round,
      value,
    });
  }
}

/** A worker's gradient blocks for its task. */
export function onGrads(
  side: AnswerSide,
  s: StepState,
  task: Task,
  msg: Extract<ToCoordinator, { type: 'grads' }>,
): void {
  const want = alignedBlocks(task.first, task.first + task.count);
  const n = s.params.length;
  if (
    msg.blocks.length !== want.length ||
    msg.blocks.some((b, i) => b.start !== want[i]!.start || b.size !== want[i]!.size)
  ) {
    return side.bad(
      task.worker,
      `step ${s.step}: gradient blocks do not match the assigned microbatches ${task.first}..${task.first + task.count - 1}`,
    );
  }
  if (msg.blocks.some((b) => b.grads.length !== n)) {
    return side.bad(
      task.worker,
      `step ${s.step}: gradient of length ${msg.blocks.find((b) => b.grads.length !== n)!.grads.length}, the model has ${n} parameters`,
    );
  }
  if (s.roundsDone !== s.bnRounds) {
    return side.bad(task.worker, `step ${s.step}: gradient before the BatchNorm rounds finished`);
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
      side.log.warn(
        {
          run: side.runId,
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
      side.dispatch();
      return;
    }
    if (side.onNonFinite === 'stop') {
      s.reject(
        new UserError(
          'NON_FINITE',
          `step ${s.step}: the gradient is not finite (computed twice, last by worker ${task.worker.label()}); lower optimizer.lr, set optimizer.clipNorm, or set onNonFinite: skip`,
        ),
      );
      side.abandon();
      return;
    }
    for (const i of indices) s.nonFinite.delete(i);
  }
  // workers that reported these microbatches non-finite when they are not: faulty
  const liars = new Set<Seat>();
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
      side.bad(
        w,
        `step ${s.step}: sent a non-finite gradient that worker ${task.worker.label()} computed finite`,
        'E_NON_FINITE',
      );
  }
  if (side.isCurrent(s) && s.covered.every((v) => v === 1)) side.finish(s);
}
