// predict's eval-mode forward pass, with the first layer over the nonzero inputs only when a
// block of rows is sparse (MNIST pixels ÷ 255 are ~80% exact zeros): the kernels'
// denseForwardSparse, which gives denseForward's bits (a skipped term is ±0; see
// shared/kernels/assembly/sparse.ts), so the logits, probabilities and classes are those of
// the trainer's eval pass (evalSlot) whichever path a block takes. The other layers run as in
// evalSlot (BatchNorm on its running statistics, dropout off).
import type { Kernels } from '../../shared/kernels/kernels.js';
import { sparseScratch } from '../../shared/kernels/panels.js';
import { Dense } from '../../shared/nn/dense.js';
import type { Cache, PassContext } from '../../shared/nn/layer.js';
import { BatchNorm } from '../../shared/nn/norms.js';
import type { Model } from '../../shared/nn/model.js';
import type { FirstLayerWeights } from './first-layer-thread.js';
import type { Chunk } from './input.js';
import { softmaxRows } from './model.js';

/** Rows per forward block: the unit of the density decision and of the later layers' GEMMs. */
export const FORWARD_BLOCK_ROWS = 128;

/** A block whose share of nonzero inputs is at most this takes the sparse first layer. The
 *  sparse kernel's time grows with the nonzeros: 784→256 here, 4.7 µs a row at the digits' 25%
 *  against the dense kernel's 8.9 µs at any density (cpu profile of test/bench/predict.ts), so
 *  they break even near 45%. */
export const SPARSE_MAX_DENSITY = 0.45;

/** auto: sparse per block by density; dense or sparse: always that path (for the bench and tests) */
export type FirstLayerPath = 'auto' | 'dense' | 'sparse';

interface SparseFirst {
  /** the first Dense layer's W in column panels (shared/kernels/panels.ts), and its bias view */
  Wp: Float32Array;
  b: Float32Array;
  idx: Int32Array;
  /** pixel byte → its float (byte / 255, training's scaling) */
  table: Float32Array;
}

/** the panels of a Dense first layer with finite weights (0·∞ would be NaN where the sparse path skips
 *  it), or null: then every block runs dense */
function sparseFirst(model: Model, k: Kernels): SparseFirst | null {
  const layer = model.layers[0];
  if (!(layer instanceof Dense)) return null;
  const n = layer.inF;
  const out = layer.outF;
  const Wp = k.alloc(n * out);
  if (!k.sparsePanels(layer.params.subarray(0, out * n), Wp, n, out)) return null;
  const table = k.alloc(256);
  for (let v = 0; v < 256; v++) table[v] = v / 255;
  return { Wp, b: layer.params.subarray(out * n), idx: k.allocInt32(sparseScratch(n)), table };
}

export class PredictForward {
  /** probabilities of the last run, rows × classes */
  readonly probs: Float64Array;
  /** the argmax of the logits (the first of equal ones) */
  readonly predicted: Int32Array;
  /** rows so far whose first layer ran sparse, and dense */
  sparseRows = 0;
  denseRows = 0;
  /** the block's rows when the input is not in the kernels' memory (allocated on first use) */
  private x: Float32Array | null = null;
  /** the same for pixels */
  private px: Uint8Array | null = null;
  private readonly caches: Cache[];
  private readonly sparse: SparseFirst | null;
  private readonly ctx: PassContext;

  constructor(
    readonly model: Model,
    maxRows: number,
    readonly path: FirstLayerPath = 'auto',
    readonly blockRows = FORWARD_BLOCK_ROWS,
  ) {
    // in the kernels' memory: predict's text is written from them there (kernels.formatRows)
    this.probs = model.k.allocF64(maxRows * model.classes);
    this.predicted = model.k.allocInt32(maxRows);
    this.caches = model.layers.map((l) => l.newCache(blockRows));
    this.sparse = path === 'dense' ? null : sparseFirst(model, model.k);
    if (path === 'sparse' && !this.sparse) throw new Error('PredictForward: the first layer cannot run sparse');
    this.ctx = { training: false, seed: 0, step: 0, samples: new Int32Array(blockRows) };
  }

  /** a chunk's rows (≤ maxRows) into probs and predicted: from its pixels when a block takes the
   *  sparse first layer (the same bits: the pixels' floats are pixel / 255), else from its floats */
  run(chunk: Pick<Chunk, 'rows' | 'pixels' | 'features'>): void {
    for (let start = 0; start < chunk.rows; start += this.blockRows) {
      const r = Math.min(this.blockRows, chunk.rows - start);
      const out = this.firstOut;
      const { x, sparse } = this.blockInput(chunk, start, r);
      if (sparse) this.firstSparse(x, r, out);
      else this.firstDense(x as Float32Array, r, out);
      this.rest(out, r, start);
    }
  }

  /** the first layer's output buffer of one block (rows × its outputs, in the kernels' memory) */
  get firstOut(): Float32Array {
    return this.caches[0]!.out;
  }

  /** Rows start..start+r of a chunk in the kernels' memory (copied there when the chunk's are
   *  not), and whether they take the sparse first layer (by the block's share of nonzero inputs,
   *  or always with path 'sparse'): then their pixels, or their floats; else their floats. */
  blockInput(
    chunk: Pick<Chunk, 'pixels' | 'features'>,
    start: number,
    r: number,
  ): { x: Uint8Array | Float32Array; sparse: boolean } {
    const s = this.sparse;
    const { k, inF: F } = this.model;
    const within = (nonzero: number): boolean => this.path === 'sparse' || nonzero <= SPARSE_MAX_DENSITY * r * F;
    if (chunk.pixels && s) {
      const px = this.owned(chunk.pixels.subarray(start * F, (start + r) * F));
      if (within(k.countNonzeroBytes(px, r * F))) return { x: px, sparse: true };
      // a dense block of pixels: its floats (a pixel is nonzero when its float is)
      return { x: this.owned(chunk.features().subarray(start * F, (start + r) * F)), sparse: false };
    }
    const x = this.owned(chunk.features().subarray(start * F, (start + r) * F));
    return { x, sparse: s !== null && within(k.countNonzero(x, r * F)) };
  }

  /** rows given as pixels or floats, in the kernels' memory: the array itself, or a copy in this
   *  pass's block buffer */
  owned<T extends Uint8Array | Float32Array>(rows: T): T {
    const { k, inF: F } = this.model;
    if (k.owns(rows)) return rows;
    if (rows instanceof Uint8Array) {
      this.px ??= k.allocBytes(this.blockRows * F);
      this.px.set(rows);
      return this.px.subarray(0, rows.length) as T;
    }
    this.x ??= k.alloc(this.blockRows * F);
    this.x.set(rows);
    return this.x.subarray(0, rows.length) as T;
  }

  /** the first layer over r rows' nonzero inputs (pixels or floats: blockInput's, or rows to
   *  copy into the kernels' memory) into out */
  firstSparse(input: Uint8Array | Float32Array, r: number, out: Float32Array): void {
    const s = this.sparse;
    if (!s) throw new Error('PredictForward: the first layer cannot run sparse');
    const { k, inF: F, layers } = this.model;
    const x = this.owned(input);
    if (x instanceof Uint8Array) k.denseForwardSparseBytes(x, s.table, s.Wp, s.b, out, s.idx, r, F, layers[0]!.outF);
    else k.denseForwardSparse(x, s.Wp, s.b, out, s.idx, r, F, layers[0]!.outF);
    this.sparseRows += r;
  }

  /** the first layer of r rows (floats in the kernels' memory: blockInput's) as evalSlot runs it,
   *  into out */
  firstDense(x: Float32Array, r: number, out: Float32Array): void {
    this.forwardLayer(0, x, r);
    const first = this.caches[0]!.out;
    if (out !== first) out.set(first.subarray(0, out.length));
    this.denseRows += r;
  }

  /** The layers after the first, from its output h (r rows), and the softmax: probs and
   *  predicted from row `at` on. */
  rest(h: Float32Array, r: number, at: number): void {
    const { layers, classes: C } = this.model;
    let input = h;
    for (let i = 1; i < layers.length; i++) {
      this.forwardLayer(i, input, r);
      input = this.caches[i]!.out;
    }
    softmaxRows(input, r, C, this.probs, this.predicted, at);
  }

  /** the first layer's weights in the form the sparse kernel reads them (for a helper thread,
   *  first-layer-thread.ts), or null when the first layer cannot run sparse */
  sparseWeights(): FirstLayerWeights | null {
    const s = this.sparse;
    if (!s) return null;
    const first = this.model.layers[0]!;
    return {
      n: this.model.inF,
      m: first.outF,
      maxRows: this.blockRows,
      Wp: s.Wp,
      b: s.b,
      table: s.table,
      scratch: s.idx.length,
    };
  }

  /** layer i as evalSlot runs it */
  private forwardLayer(i: number, input: Float32Array, rows: number): void {
    const layer = this.model.layers[i]!;
    if (layer instanceof BatchNorm) layer.forwardEval(input, rows, this.caches[i]!);
    else layer.forward(input, rows, this.caches[i]!, this.ctx);
  }
}
