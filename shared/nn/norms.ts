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
    return [['weight', this.affineSize], ['bias', this.affineSize]];
  }

  override reset(): void {
    this.params.fill(1, 0, this.affineSize);
    this.params.fill(0, this.affineSize);
  }

  override newCache(rows: number): NormCache {
    return { ...super.newCache(rows), xhat: new Float32Array(rows * this.inF), invStd: new Float64Array(rows * this.groups) };
  }

  forward(x: Float32Array, rows: number, c: Cache): void {
    const cache = c as NormCache;
    const F = this.inF, G = this.groups, M = F / G, per = F / this.affineSize, P = this.affineSize;
    const p = this.params;
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < G; g++) {
        const o = r * F + g * M;
        let s = 0;
        for (let i = 0; i < M; i++) s += x[o + i]!;
        const mean = s / M;
        let v = 0;
        for (let i = 0; i < M; i++) { const d = x[o + i]! - mean; v += d * d; }
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
    const F = this.inF, G = this.groups, M = F / G, per = F / this.affineSize, P = this.affineSize;
    const p = this.params;
    const go = this.paramOffset;
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < G; g++) {
        const o = r * F + g * M;
        let s1 = 0, s2 = 0;
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
          cache.dx[o + i] = inv * (dy[o + i]! * p[a]! - s1 / M - cache.xhat[o + i]! * s2 / M);
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
  const na = a[0]!, nb = b[0]!, n = na + nb;
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

export class BatchNorm extends Layer {
  readonly kind = 'batchnorm';
  constructor(width: number) {
    super(width, width);
  }

  override paramShapes(): Array<[string, number]> {
    return [['weight', this.inF], ['bias', this.inF]];
  }

  override bufferShapes(): Array<[string, number]> {
    return [['running_mean', this.inF], ['running_var', this.inF]];
  }

  override reset(): void {
    const F = this.inF;
    this.params.fill(1, 0, F);
    this.params.fill(0, F);
    this.buffers.fill(0, 0, F);
    this.buffers.fill(1, F);
  }

  override newCache(rows: number): NormCache {
    return { ...super.newCache(rows), xhat: new Float32Array(rows * this.inF), invStd: new Float64Array(this.inF) };
  }

  /** forward, phase 1: this microbatch's statistics */
  partialStats(x: Float32Array, rows: number): BatchStats {
    const F = this.inF;
    const out = new Float64Array(1 + 2 * F);
    out[0] = rows;
    for (let r = 0; r < rows; r++) for (let f = 0; f < F; f++) out[1 + f]! += x[r * F + f]!;
    for (let f = 0; f < F; f++) out[1 + f]! /= rows;
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < F; f++) {
        const d = x[r * F + f]! - out[1 + f]!;
        out[1 + F + f]! += d * d;
      }
    }
    return out;
  }

  /** forward, phase 2: normalize with the global batch statistics (biased variance) */
  applyStats(x: Float32Array, rows: number, c: Cache, stats: BatchStats): void {
    const cache = c as NormCache;
    const F = this.inF, n = stats[0]!, p = this.params;
    cache.evalMode = false;
    for (let f = 0; f < F; f++) cache.invStd[f] = 1 / Math.sqrt(stats[1 + F + f]! / n + NORM_EPS);
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < F; f++) {
        const i = r * F + f;
        const xh = (x[i]! - stats[1 + f]!) * cache.invStd[f]!;
        cache.xhat[i] = xh;
        cache.out[i] = p[f]! * xh + p[F + f]!;
      }
    }
  }

  /** eval mode: normalize with the running statistics */
  forwardEval(x: Float32Array, rows: number, c: Cache): void {
    const cache = c as NormCache;
    const F = this.inF, p = this.params, b = this.buffers;
    cache.evalMode = true;
    for (let f = 0; f < F; f++) cache.invStd[f] = 1 / Math.sqrt(b[F + f]! + NORM_EPS);
    const inv = cache.invStd;
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < F; f++) {
        const i = r * F + f;
        const xh = (x[i]! - b[f]!) * inv[f]!;
        cache.xhat[i] = xh;
        c.out[i] = p[f]! * xh + p[F + f]!;
      }
    }
  }

  /** a microbatch that is its own batch (used outside the engine, e.g. in tests) */
  forward(x: Float32Array, rows: number, cache: Cache, ctx: PassContext): void {
    if (ctx.training) this.applyStats(x, rows, cache, this.partialStats(x, rows));
    else this.forwardEval(x, rows, cache);
  }

  /** backward, phase 1: accumulate dγ, dβ of this microbatch; return its [Σdy, Σdy·x̂] */
  partialGradSums(dy: Float32Array, rows: number, c: Cache, grads: Float32Array): BatchGradSums {
    const cache = c as NormCache;
    const F = this.inF, go = this.paramOffset;
    const sums = new Float64Array(2 * F);
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < F; f++) {
        const d = dy[r * F + f]!;
        sums[f]! += d;
        sums[F + f]! += d * cache.xhat[r * F + f]!;
      }
    }
    for (let f = 0; f < F; f++) {
      grads[go + f]! += sums[F + f]!;
      grads[go + F + f]! += sums[f]!;
    }
    return sums;
  }

  /** backward, phase 2: dx = γ/σ · (dy - Σdy/N - x̂·Σ(dy·x̂)/N) with the global sums */
  applyGradSums(dy: Float32Array, rows: number, c: Cache, sums: BatchGradSums, n: number): void {
    const cache = c as NormCache;
    const F = this.inF, p = this.params;
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < F; f++) {
        const i = r * F + f;
        cache.dx[i] = p[f]! * cache.invStd[f]! * (dy[i]! - sums[f]! / n - cache.xhat[i]! * sums[F + f]! / n);
      }
    }
  }

  backward(_x: Float32Array, dy: Float32Array, rows: number, cache: Cache, grads: Float32Array, needDx: boolean): void {
    const sums = this.partialGradSums(dy, rows, cache, grads);
    if (!needDx) return;
    if ((cache as NormCache).evalMode) {
      // running statistics are constants: dx = γ/σ · dy
      const F = this.inF, inv = (cache as NormCache).invStd;
      for (let i = 0; i < rows * F; i++) cache.dx[i] = this.params[i % F]! * inv[i % F]! * dy[i]!;
    } else {
      this.applyGradSums(dy, rows, cache, sums, rows);
    }
  }

  /** once per step: running = (1 - m)·running + m·batch, with the unbiased batch variance */
  updateRunning(stats: BatchStats, momentum = BN_MOMENTUM): void {
    const F = this.inF, n = stats[0]!, b = this.buffers;
    for (let f = 0; f < F; f++) {
      b[f] = (1 - momentum) * b[f]! + momentum * stats[1 + f]!;
      const unbiased = n > 1 ? stats[1 + F + f]! / (n - 1) : stats[1 + F + f]!;
      b[F + f] = (1 - momentum) * b[F + f]! + momentum * unbiased;
    }
  }
}
