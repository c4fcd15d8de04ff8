// What the thread team (team.ts) and its compute threads (compute-thread.ts) say to each other
// over node:worker_threads message ports. Large data never travels here: the dataset and the
// weights live in SharedArrayBuffers both sides see; a step sends sample indices, a BatchNorm
// round its per-microbatch partial values, and the end of a pass the pre-reduced gradient
// blocks (their buffers transferred, not copied).
import type { KernelVariant } from '../../kernels/kernels.js';
import type { ModelConfig } from '../../config-types.js';

/** The dataset as the threads see it: typed arrays over SharedArrayBuffers. */
export interface SharedDatasetParts {
  name: string;
  n: number;
  features: number;
  classes: number;
  x: Float32Array;
  xLevels?: Uint8Array;
  xTable?: Float32Array;
  y: Int32Array;
}

/** A fault a test injects into one thread: throw in, or exit from, its pass of `step`. */
export interface ThreadFault {
  thread: number;
  step: number;
  kind: 'throw' | 'exit';
}

/** workerData of a compute thread */
export interface ThreadInit {
  index: number;
  model: ModelConfig;
  variant: KernelVariant;
  data: SharedDatasetParts;
  /** the weights, written by the team before each step whose weights changed */
  params: Float32Array;
  /** microbatch size, for the warm-up */
  microbatch: number;
  seed: number;
  fault?: ThreadFault;
}

export type ToThread =
  | {
      type: 'step';
      /** the team's pass counter: answers to an abandoned pass are recognised and dropped */
      pass: number;
      step: number;
      seed: number;
      /** the weights' version in the shared buffer; the thread copies them when it changed */
      version: number;
      /** global index of this thread's first microbatch */
      first: number;
      microbatch: number;
      samples: Int32Array;
    }
  | { type: 'sync-result'; pass: number; value: Float64Array }
  /** a thread kept from an earlier team takes a new job: it builds the model, warms up and
   *  answers `ready` as a new thread does */
  | { type: 'load'; init: ThreadInit };

export interface ThreadBlock {
  start: number;
  size: number;
  grads: Float32Array;
  lossSum: number;
  correct: number;
}

export type FromThread =
  | { type: 'ready'; index: number; paramCount: number }
  | { type: 'sync'; pass: number; kind: 'bn-forward' | 'bn-backward'; layer: number; partials: Float64Array[] }
  | { type: 'done'; pass: number; blocks: ThreadBlock[]; computeMs: number }
  | { type: 'failed'; pass: number; message: string };
