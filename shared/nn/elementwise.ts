// Layers that act on each element: activations and dropout.
import type { ActivationName, DropoutMode } from '../config-types.js';
import { hashPrefix, hashUniformFrom } from '../rng.js';
import { activationBackward, activationForward } from './activations.js';
import { Layer, type Cache, type PassContext } from './layer.js';

export class Activation extends Layer {
  readonly kind = 'activation';
  constructor(width: number, readonly fn: ActivationName) {
    super(width, width);
  }

  forward(x: Float32Array, rows: number, cache: Cache): void {
    activationForward(this.fn, x, cache.out, rows * this.inF);
  }

  backward(x: Float32Array, dy: Float32Array, rows: number, cache: Cache, _g: Float32Array, needDx: boolean): void {
    if (needDx) activationBackward(this.fn, x, cache.out, dy, cache.dx, rows * this.inF);
  }
}

interface DropoutCache extends Cache {
  /** the factor each element was multiplied by in the last training forward pass */
  scale: Float32Array;
}

/** Dropout with masks per invariant I3: unit u of sample s is kept at step t iff
 *  hashUniform(seed, t, layer, s, u) ≥ p, wherever and with whatever rows it is computed. */
export class Dropout extends Layer {
  readonly kind = 'dropout';
  constructor(width: number, readonly rate: number, readonly mode: DropoutMode) {
    super(width, width);
  }

  override newCache(rows: number): DropoutCache {
    return { ...super.newCache(rows), scale: new Float32Array(rows * this.inF) };
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
    const scale = (cache as DropoutCache).scale;
    const w = this.inF;
    for (let r = 0; r < rows; r++) {
      const prefix = hashPrefix(ctx.seed, ctx.step, this.index, ctx.samples[r]!);
      const o = r * w;
      for (let u = 0; u < w; u++) {
        const s = hashUniformFrom(prefix, u) >= p ? keepScale : 0;
        scale[o + u] = s;
        y[o + u] = x[o + u]! * s;
      }
    }
  }

  backward(_x: Float32Array, dy: Float32Array, rows: number, cache: Cache, _g: Float32Array, needDx: boolean): void {
    if (!needDx) return;
    const scale = (cache as DropoutCache).scale;
    const dx = cache.dx;
    for (let i = 0, n = rows * this.inF; i < n; i++) dx[i] = dy[i]! * scale[i]!;
  }
}
