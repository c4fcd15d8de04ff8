// Normalization layers (eps 1e-5, γ = 1, β = 0 at start; torch.nn conventions).
//
// LayerNorm, GroupNorm(G) and InstanceNorm(C) normalize each sample on its own, over groups
// of contiguous features: one class, GroupwiseNorm, with
//   LayerNorm     1 group,  γ/β per feature
//   GroupNorm(G)  G groups, γ/β per feature (each feature is a channel)
//   InstanceNorm  C groups, γ/β per channel (the F features viewed as C × F/C)
// BatchNorm normalizes each feature over the *global* batch (invariant I2). Its training pass
// is split around two reductions across microbatches: forward needs the batch mean and
// variance, backward needs Σdy and Σdy·x̂. The engine (shared/engine) gathers the partial
// values of every microbatch, reduces them in a fixed order and hands the result back.
import type { Kernels } from '../kernels/kernels.js';
import { Layer, type Cache, type PassContext } from './layer.js';

export const NORM_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

interface NormCache extends Cache {
  xhat: Float32Array;
  /** 1/√(var + eps): per row and group (groupwise) or per feature (batch) */
  invStd: Float64Array;
  /** BatchNorm: the last forward pass normalized with the running statistics */
  evalMode?: boolean;
}

export class GroupwiseNorm extends Layer {
  constructor(
    readonly kind: 'layernorm' | 'groupnorm' | 'instancenorm',
    width: number,
    readonly groups: number,
    readonly affineSize: number,
  ) {
    super(width, width);
    if (width % groups !== 0) throw new Error(`${kind}: ${groups} groups do not divide width ${width}`);
  }

  override paramShapes(): Array<[string, number]> {
    return [
      ['weight', this.affineSize],
      ['bias', this.affineSize],
    ];
  }

  override reset(): void {
    this.params.fill(1, 0, this.affineSize);
    this.params.fill(0, this.affineSize);
  }

  override newCache(rows: number): NormCache {
    return {
      ...super.newCache(rows),
      xhat: new Float32Array(rows * this.inF),
      invStd: new Float64Array(rows * this.groups),
    };
  }

  forward(x: Float32Array, rows: number, c: Cache): void {
    const cache = c as NormCache;
    const F = this.inF,
      G = this.groups,
      M = F / G,
      per = F / this.affineSize,
      P = this.affineSize;
    const p = this.params;
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < G; g++) {
        const o = r * F + g * M;
        let s = 0;
        for (let i = 0; i < M; i++) s += x[o + i]!;
        const mean = s / M;
        let v = 0;
        for (let i = 0; i < M; i++) {
          const d = x[o + i]! - mean;
          v += d * d;
        }
        const inv = 1 / Math.sqrt(v / M + NORM_EPS);
        cache.invStd[r * G + g] = inv;
        for (let i = 0; i < M; i++) {
          const a = ((g * M + i) / per) | 0;
          const xh = (x[o + i]! - mean) * inv;
          cache.xhat[o + i] = xh;
          cache.out[o + i] = p[a]! * xh + p[P + a]!;
        }
      }
    }
  }

  backward(_x: Float32Array, dy: Float32Array, rows: number, c: Cache, grads: Float32Array, needDx: boolean): void {
    const cache = c as NormCache;
    const F = this.inF,
      G = this.groups,
      M = F / G,
      per = F / this.affineSize,
      P = this.affineSize;
    const p = this.params;
    const go = this.paramOffset;
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < G; g++) {
        const o = r * F + g * M;
        let s1 = 0,
          s2 = 0;
        for (let i = 0; i < M; i++) {
          const a = ((g * M + i) / per) | 0;
          const d = dy[o + i]!;
          const xh = cache.xhat[o + i]!;
          grads[go + a]! += d * xh;
          grads[go + P + a]! += d;
          const dxh = d * p[a]!;
          s1 += dxh;
          s2 += dxh * xh;
        }
        if (!needDx) continue;
        // dx = (1/σ)(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂)) over the group
        const inv = cache.invStd[r * G + g]!;
        for (let i = 0; i < M; i++) {
          const a = ((g * M + i) / per) | 0;
          cache.dx[o + i] = inv * (dy[o + i]! * p[a]! - s1 / M - (cache.xhat[o + i]! * s2) / M);
        }
      }
    }
  }
}

/** Batch statistics of one microbatch or of the reduced global batch, per feature:
 *  [n, mean_0..mean_{F-1}, m2_0..m2_{F-1}] (m2 = Σ(x - mean)²), in float64. */
export type BatchStats = Float64Array;

/** Chan et al.'s pairwise combination of (n, mean, M2): exact in any fixed order. */
export function combineStats(a: BatchStats, b: BatchStats): BatchStats {
  const F = (a.length - 1) / 2;
  const na = a[0]!,
    nb = b[0]!,
    n = na + nb;
  const out = new Float64Array(a.length);
  out[0] = n;
  for (let f = 0; f < F; f++) {
    const d = b[1 + f]! - a[1 + f]!;
    out[1 + f] = a[1 + f]! + (d * nb) / n;
    out[1 + F + f] = a[1 + F + f]! + b[1 + F + f]! + (d * d * na * nb) / n;
  }
  return out;
}

/** [Σdy_0.., Σ(dy·x̂)_0..] per feature, float64; reduced by elementwise addition. */
export type BatchGradSums = Float64Array;

export function addSums(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

/** BatchNorm's cache: NormCache in the kernels' memory, plus this microbatch's partial values */
interface BatchNormCache extends NormCache {
  /** partialStats' result when given this cache (valid until its next partialStats call) */
  stats: BatchStats;
  /** partialGradSums' result (valid until the next partialGradSums call with this cache) */
  sums: BatchGradSums;
}

/** BatchNorm's arithmetic runs in the model's kernels (bnPartialStats … bnUpdateRunning in
 *  shared/kernels/kernels.ts), bit-identical in every variant. */
export class BatchNorm extends Layer {
  readonly kind = 'batchnorm';
  /** kernel-memory copies of reduced values from elsewhere (the wire, combineStats/addSums) */
  private statsIn: Float64Array = new Float64Array(0);
  private sumsIn: Float64Array = new Float64Array(0);
  /** partialStats' result without a cache, before it is copied out */
  private statsOut: Float64Array = new Float64Array(0);
  /** this layer's [dγ, dβ] view of each flat gradient it has accumulated into */
  private gradViews = new WeakMap<Float32Array, Float32Array>();

  constructor(width: number) {
    super(width, width);
  }

  override paramShapes(): Array<[string, number]> {
    return [
      ['weight', this.inF],
      ['bias', this.inF],
    ];
  }

  override bufferShapes(): Array<[string, number]> {
    return [
      ['running_mean', this.inF],
      ['running_var', this.inF],
    ];
  }

  override bind(params: Float32Array, buffers: Float32Array, k?: Kernels): void {
    super.bind(params, buffers, k);
    const F = this.inF;
    this.statsIn = this.k.allocF64(1 + 2 * F);
    this.statsOut = this.k.allocF64(1 + 2 * F);
    this.sumsIn = this.k.allocF64(2 * F);
    this.gradViews = new WeakMap();
  }

  override reset(): void {
    const F = this.inF;
    this.params.fill(1, 0, F);
    this.params.fill(0, F);
    this.buffers.fill(0, 0, F);
    this.buffers.fill(1, F);
  }

  override newCache(rows: number): BatchNormCache {
    const F = this.inF,
      k = this.k;
    return {
      ...super.newCache(rows),
      xhat: k.alloc(rows * F),
      invStd: k.allocF64(F),
      stats: k.allocF64(1 + 2 * F),
      sums: k.allocF64(2 * F),
    };
  }

  /** `a` itself when the kernels can read it, else its first `n` values copied into `scratch`
   *  (values past the end of a short `a` read as NaN, as indexing past it always did) */
  private inKernels(a: Float64Array, scratch: Float64Array): Float64Array {
    if (this.k.owns(a)) return a;
    const n = scratch.length;
    if (a.length >= n) {
      scratch.set(a.length === n ? a : a.subarray(0, n));
    } else {
      scratch.set(a);
      scratch.fill(NaN, a.length);
    }
    return scratch;
  }

  /** forward, phase 1: this microbatch's statistics. With a cache the result is the cache's
   *  own buffer (in the kernels' memory, no allocation), valid until the next partialStats
   *  with that cache; without one, a fresh array. */
  partialStats(x: Float32Array, rows: number, c?: Cache): BatchStats {
    if (c) {
      const out = (c as BatchNormCache).stats;
      this.k.bnPartialStats(x, rows, this.inF, out);
      return out;
    }
    this.k.bnPartialStats(x, rows, this.inF, this.statsOut);
    return this.statsOut.slice();
  }

  /** forward, phase 2: normalize with the global batch statistics (biased variance) */
  applyStats(x: Float32Array, rows: number, c: Cache, stats: BatchStats): void {
    const cache = c as BatchNormCache;
    cache.evalMode = false;
    const s = this.inKernels(stats, this.statsIn);
    this.k.bnApplyStats(x, rows, this.inF, s, this.params, NORM_EPS, cache.invStd, cache.xhat, cache.out);
  }

  /** eval mode: normalize with the running statistics */
  forwardEval(x: Float32Array, rows: number, c: Cache): void {
    const cache = c as BatchNormCache;
    cache.evalMode = true;
    this.k.bnForwardEval(x, rows, this.inF, this.buffers, this.params, NORM_EPS, cache.invStd, cache.xhat, cache.out);
  }

  /** a microbatch that is its own batch (used outside the engine, e.g. in tests) */
  forward(x: Float32Array, rows: number, cache: Cache, ctx: PassContext): void {
    if (ctx.training) this.applyStats(x, rows, cache, this.partialStats(x, rows, cache));
    else this.forwardEval(x, rows, cache);
  }

  /** backward, phase 1: accumulate dγ, dβ of this microbatch into `grads` (the flat gradient,
   *  at paramOffset); return its [Σdy, Σdy·x̂]: the cache's own buffer, valid until the next
   *  partialGradSums with that cache */
  partialGradSums(dy: Float32Array, rows: number, c: Cache, grads: Float32Array): BatchGradSums {
    const cache = c as BatchNormCache;
    let g = this.gradViews.get(grads);
    if (!g) {
      g = grads.subarray(this.paramOffset, this.paramOffset + 2 * this.inF);
      this.gradViews.set(grads, g);
    }
    this.k.bnPartialGradSums(dy, cache.xhat, rows, this.inF, cache.sums, g);
    return cache.sums;
  }

  /** backward, phase 2: dx = γ/σ · (dy - Σdy/N - x̂·Σ(dy·x̂)/N) with the global sums */
  applyGradSums(dy: Float32Array, rows: number, c: Cache, sums: BatchGradSums, n: number): void {
    const cache = c as BatchNormCache;
    const s = this.inKernels(sums, this.sumsIn);
    this.k.bnApplyGradSums(dy, cache.xhat, rows, this.inF, this.params, cache.invStd, s, n, cache.dx);
  }

  backward(_x: Float32Array, dy: Float32Array, rows: number, cache: Cache, grads: Float32Array, needDx: boolean): void {
    const sums = this.partialGradSums(dy, rows, cache, grads);
    if (!needDx) return;
    if ((cache as BatchNormCache).evalMode) {
      // running statistics are constants: dx = γ/σ · dy
      this.k.bnBackwardEval(dy, rows, this.inF, this.params, (cache as BatchNormCache).invStd, cache.dx);
    } else {
      this.applyGradSums(dy, rows, cache, sums, rows);
    }
  }

  /** once per step: running = (1 - m)·running + m·batch, with the unbiased batch variance */
  updateRunning(stats: BatchStats, momentum = BN_MOMENTUM): void {
    this.k.bnUpdateRunning(this.buffers, this.inKernels(stats, this.statsIn), this.inF, momentum);
  }
}
