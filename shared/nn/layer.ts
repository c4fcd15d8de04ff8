// The layer contract. A layer owns views into the model's flat parameter and buffer arrays;
// everything that depends on a microbatch (outputs, what backward needs, the input gradient)
// lives in a Cache that the caller keeps per microbatch and reuses across steps.
//
// Row independence (invariant I1): for every layer but BatchNorm in training mode, a row's
// output depends only on that row's input, computed with the same operation order whatever
// the number of rows or the row's position. Parameter gradients are sums over the rows of a
// microbatch in row order; microbatches are then reduced in a fixed tree (shared/engine).

export interface PassContext {
  training: boolean;
  seed: number;
  /** optimizer step (0-based) of this pass: dropout masks depend on it */
  step: number;
  /** global sample index of each row (dataset index): dropout masks depend on it */
  samples: Int32Array;
}

export interface Cache {
  /** forward output, rows × outF */
  out: Float32Array;
  /** gradient with respect to the input, rows × inF */
  dx: Float32Array;
}

import { JS_KERNELS } from '../kernels/js.js';
import type { Kernels } from '../kernels/kernels.js';

export abstract class Layer {
  abstract readonly kind: string;
  /** position in the model; names the layer's random streams */
  index = 0;
  /** offsets of this layer's parameters / buffers in the model's flat arrays */
  paramOffset = 0;
  bufferOffset = 0;
  params: Float32Array = new Float32Array(0);
  buffers: Float32Array = new Float32Array(0);
  /** the model's kernels: every array a kernel touches comes from k.alloc */
  k!: Kernels;

  constructor(
    readonly inF: number,
    readonly outF: number,
  ) {}

  /** parameter tensors by PyTorch name and size, in model order */
  paramShapes(): Array<[string, number]> {
    return [];
  }
  /** non-trainable state (BN running statistics), in model order */
  bufferShapes(): Array<[string, number]> {
    return [];
  }

  get paramSize(): number {
    return this.paramShapes().reduce((s, [, n]) => s + n, 0);
  }
  get bufferSize(): number {
    return this.bufferShapes().reduce((s, [, n]) => s + n, 0);
  }

  /** give the layer its views and kernels; called once by the model */
  bind(params: Float32Array, buffers: Float32Array, k: Kernels = JS_KERNELS): void {
    this.params = params.subarray(this.paramOffset, this.paramOffset + this.paramSize);
    this.buffers = buffers.subarray(this.bufferOffset, this.bufferOffset + this.bufferSize);
    this.k = k;
  }

  /** fill parameters and buffers with their initial values */
  reset(_seed: number): void {}

  newCache(rows: number): Cache {
    return { out: this.k.alloc(rows * this.outF), dx: this.k.alloc(rows * this.inF) };
  }

  /** cache.out = f(x) for `rows` rows */
  abstract forward(x: Float32Array, rows: number, cache: Cache, ctx: PassContext): void;

  /** accumulate parameter gradients into `grads` (the model-wide flat gradient of this
   *  microbatch) and, when needDx, write cache.dx */
  abstract backward(
    x: Float32Array,
    dy: Float32Array,
    rows: number,
    cache: Cache,
    grads: Float32Array,
    needDx: boolean,
  ): void;
}
