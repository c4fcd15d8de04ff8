// One distributed step's bookkeeping: the step's microbatches, who was handed which run of
// them (tasks, by attempt), which are covered, the BatchNorm rounds, the non-finite reports
// being rechecked, and the numbers the step reports; with the fixed-order reduction of the
// gradient blocks once all are in. No I/O.
import { microbatches, type Trainer } from '../../shared/engine/trainer.js';
import { addInto, treeReduce, type Block } from '../../shared/engine/reduce.js';
import { BatchNorm } from '../../shared/nn/norms.js';
import type { GradBlock } from '../../shared/protocol.js';
import type { StepGradient } from '../run/run-loop.js';
import type { Seat } from './worker-conn.js';

export interface Task {
  worker: Seat;
  attempt: number;
  first: number;
  count: number;
  /** BN steps: the partials this task sent, by round */
  rounds: Map<number, Float64Array[]>;
}

export interface StepState {
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
  nonFinite: Map<number, Seat[]>;
  /** workers not to hand this step's work to, while another one can take it */
  avoid: Set<Seat>;
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

/** A step's state before any work is handed out. */
export function newStepState(
  trainer: Trainer,
  step: number,
  batch: Int32Array,
  attempt: number,
  resolve: (g: StepGradient) => void,
  reject: (e: Error) => void,
  bytesAtStart: number,
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
    bytesAtStart,
    started: performance.now(),
    computeMs: 0,
    participants: new Set(),
    waitMs: 0,
  };
}

/** The step's gradient, loss and correct count: its blocks reduced in the fixed tree over
 *  microbatch indices (whoever computed them). */
export function reduceBlocks(s: StepState): Pick<StepGradient, 'gradSum' | 'lossSum' | 'correct'> {
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
  return { gradSum, lossSum, correct };
}

export function sameIndices(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

export function contiguousRuns(xs: number[]): number[][] {
  const runs: number[][] = [];
  for (const x of xs) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] === x - 1) last.push(x);
    else runs.push([x]);
  }
  return runs;
}
