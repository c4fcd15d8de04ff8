// Layers that act on each element: activations and dropout.
import type { ActivationName, DropoutMode } from '../config-types.js';
import { hashPrefix } from '../rng.js';
import { Layer, type Cache, type PassContext } from './layer.js';

export class Activation extends Layer {
  readonly kind = 'activation';
  constructor(
    width: number,
    readonly fn: ActivationName,
  ) {
    super(width, width);
  }

  forward(x: Float32Array, rows: number, cache: Cache): void {
    this.k.activationForward(this.fn, x, cache.out, rows * this.inF);
  }

  backward(x: Float32Array, dy: Float32Array, rows: number, cache: Cache, _g: Float32Array, needDx: boolean): void {
    if (needDx) this.k.activationBackward(this.fn, x, cache.out, dy, cache.dx, rows * this.inF);
  }
}

interface DropoutCache extends Cache {
  /** the factor each element was multiplied by in the last training forward pass */
  scale: Float32Array;
  /** each row's hash prefix (seed, step, layer, sample) */
  prefixes: Int32Array;
}

/** Dropout with masks per invariant I3: unit u of sample s is kept at step t iff
 *  hashUniform(seed, t, layer, s, u) ≥ p, wherever and with whatever rows it is computed. */
export class Dropout extends Layer {
  readonly kind = 'dropout';
  constructor(
    width: number,
    readonly rate: number,
    readonly mode: DropoutMode,
  ) {
    super(width, width);
  }

  override newCache(rows: number): DropoutCache {
    return {
      ...super.newCache(rows),
      scale: this.k.alloc(rows * this.inF),
      prefixes: this.k.allocInt32(rows),
    };
  }

  forward(x: Float32Array, rows: number, cache: Cache, ctx: PassContext): void {
    const n = rows * this.inF;
    const y = cache.out;
    const p = this.rate;
    if (!ctx.training || p === 0) {
      // inverted dropout is the identity at eval; the lecture's variant scales by the keep ratio
      const f = ctx.training || this.mode === 'inverted' ? 1 : 1 - p;
      for (let i = 0; i < n; i++) y[i] = x[i]! * f;
      if (ctx.training) (cache as DropoutCache).scale.fill(1, 0, n);
      return;
    }
    const keepScale = this.mode === 'inverted' ? 1 / (1 - p) : 1;
    const c = cache as DropoutCache;
    for (let r = 0; r < rows; r++) c.prefixes[r] = hashPrefix(ctx.seed, ctx.step, this.index, ctx.samples[r]!);
    this.k.dropoutForward(x, y, c.scale, c.prefixes, rows, this.inF, p, keepScale);
  }

  backward(_x: Float32Array, dy: Float32Array, rows: number, cache: Cache, _g: Float32Array, needDx: boolean): void {
    if (!needDx) return;
    this.k.multiply(dy, (cache as DropoutCache).scale, cache.dx, rows * this.inF);
  }
}
