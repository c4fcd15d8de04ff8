// Fully connected layer, y = x·Wᵀ + b with W stored [out × in] (torch.nn.Linear's layout).
// The three products run in the model's kernels (shared/kernels), which compute each row
// with the same operation order whatever the other rows (I1).
import type { InitName } from '../config-types.js';
import { Rng } from '../rng.js';
import { initialize } from './init.js';
import type { Kernels } from '../kernels/kernels.js';
import { Layer, type Cache } from './layer.js';

export class Dense extends Layer {
  readonly kind = 'dense';
  constructor(
    inF: number,
    outF: number,
    readonly init: InitName,
  ) {
    super(inF, outF);
  }

  override paramShapes(): Array<[string, number]> {
    return [
      ['weight', this.outF * this.inF],
      ['bias', this.outF],
    ];
  }

  override reset(seed: number): void {
    const w = this.params.subarray(0, this.outF * this.inF);
    initialize(w, this.init, this.inF, this.outF, new Rng(seed, 'init', this.index));
    this.params.fill(0, this.outF * this.inF);
  }

  /** the weight and bias views of params (set in bind) */
  private W: Float32Array = new Float32Array(0);
  private b: Float32Array = new Float32Array(0);
  /** this layer's weight and bias gradient views of each slot's flat gradient, made once */
  private readonly gradViews = new Map<Float32Array, [Float32Array, Float32Array]>();

  override bind(params: Float32Array, buffers: Float32Array, k?: Kernels): void {
    super.bind(params, buffers, k);
    this.W = this.params.subarray(0, this.outF * this.inF);
    this.b = this.params.subarray(this.outF * this.inF);
    this.gradViews.clear();
  }

  forward(x: Float32Array, rows: number, cache: Cache): void {
    this.k.denseForward(x, this.W, this.b, cache.out, rows, this.inF, this.outF);
  }

  backward(x: Float32Array, dy: Float32Array, rows: number, cache: Cache, grads: Float32Array, needDx: boolean): void {
    let views = this.gradViews.get(grads);
    if (!views) {
      const o = this.paramOffset;
      const w = this.outF * this.inF;
      views = [grads.subarray(o, o + w), grads.subarray(o + w, o + w + this.outF)];
      this.gradViews.set(grads, views);
    }
    // dW[j,k] = Σ_r dy[r,j]·x[r,k] and db[j] = Σ_r dy[r,j], rows in ascending order: this
    // layer's region of the slot's gradient is written here only (trainPass zeroes the rest)
    this.k.denseGrads(x, dy, views[0], views[1], rows, this.inF, this.outF, false);
    // dx[r,k] = Σ_j dy[r,j]·W[j,k], j ascending
    if (needDx) this.k.denseDx(dy, this.W, cache.dx, rows, this.inF, this.outF);
  }
}
