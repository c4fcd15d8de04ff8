// Fully connected layer, y = x·Wᵀ + b with W stored [out × in] (torch.nn.Linear's layout).
// Each output element is one dot product summed over k in ascending order, so a row's result
// does not depend on the other rows (I1). Four output units share each load of x.
import type { InitName } from '../config-types.js';
import { Rng } from '../rng.js';
import { initialize } from './init.js';
import { Layer, type Cache } from './layer.js';

export class Dense extends Layer {
  readonly kind = 'dense';
  constructor(inF: number, outF: number, readonly init: InitName) {
    super(inF, outF);
  }

  override paramShapes(): Array<[string, number]> {
    return [['weight', this.outF * this.inF], ['bias', this.outF]];
  }

  override reset(seed: number): void {
    const w = this.params.subarray(0, this.outF * this.inF);
    initialize(w, this.init, this.inF, this.outF, new Rng(seed, 'init', this.index));
    this.params.fill(0, this.outF * this.inF);
  }

  forward(x: Float32Array, rows: number, cache: Cache): void {
    const { inF: n, outF: m, params: p } = this;
    const y = cache.out;
    const bOff = m * n;
    for (let r = 0; r < rows; r++) {
      const xo = r * n;
      const yo = r * m;
      let j = 0;
      for (; j + 4 <= m; j += 4) {
        const w0 = j * n, w1 = w0 + n, w2 = w1 + n, w3 = w2 + n;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let k = 0; k < n; k++) {
          const xv = x[xo + k]!;
          s0 += xv * p[w0 + k]!;
          s1 += xv * p[w1 + k]!;
          s2 += xv * p[w2 + k]!;
          s3 += xv * p[w3 + k]!;
        }
        y[yo + j] = s0 + p[bOff + j]!;
        y[yo + j + 1] = s1 + p[bOff + j + 1]!;
        y[yo + j + 2] = s2 + p[bOff + j + 2]!;
        y[yo + j + 3] = s3 + p[bOff + j + 3]!;
      }
      for (; j < m; j++) {
        const w0 = j * n;
        let s = 0;
        for (let k = 0; k < n; k++) s += x[xo + k]! * p[w0 + k]!;
        y[yo + j] = s + p[bOff + j]!;
      }
    }
  }

  backward(x: Float32Array, dy: Float32Array, rows: number, cache: Cache, grads: Float32Array, needDx: boolean): void {
    const { inF: n, outF: m, params: p } = this;
    const gw = this.paramOffset;
    const gb = gw + m * n;
    // dW[j,k] += Σ_r dy[r,j]·x[r,k] and db[j] += Σ_r dy[r,j], rows in ascending order
    for (let r = 0; r < rows; r++) {
      const xo = r * n;
      const yo = r * m;
      for (let j = 0; j < m; j++) {
        const g = dy[yo + j]!;
        if (g === 0) continue;
        grads[gb + j]! += g;
        const wo = gw + j * n;
        for (let k = 0; k < n; k++) grads[wo + k]! += g * x[xo + k]!;
      }
    }
    if (!needDx) return;
    // dx[r,k] = Σ_j dy[r,j]·W[j,k], j ascending
    const dx = cache.dx;
    dx.fill(0, 0, rows * n);
    for (let r = 0; r < rows; r++) {
      const xo = r * n;
      const yo = r * m;
      for (let j = 0; j < m; j++) {
        const g = dy[yo + j]!;
        if (g === 0) continue;
        const wo = j * n;
        for (let k = 0; k < n; k++) dx[xo + k]! += g * p[wo + k]!;
      }
    }
  }
}
