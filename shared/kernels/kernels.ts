// The numeric kernels every layer, loss, reduction and optimizer runs through, behind one
// interface with two variants:
//   js         plain TypeScript (float64 arithmetic per element, stored as float32): the
//              fallback where WebAssembly SIMD is unavailable, and the reference in tests
//   wasm-simd  WebAssembly with 128-bit SIMD, built from shared/kernels/assembly (npm run
//              build:wasm)
// Both variants keep invariant I1: every output row is computed with the same operation order
// whatever the number of rows in the call or the row's position, and parameter gradients are
// sums over a call's rows in ascending row order. The two variants give different bits (f32
// SIMD lanes vs f64 scalars), so all processes of one job must run the same variant: the
// handshake compares `variant`.
//
// Memory: a Kernels instance owns the memory its kernels work on. Every array a kernel reads
// or writes must come from that instance's alloc() (for wasm-simd: a view into its
// WebAssembly memory, which never grows, so views stay valid). Allocations live as long as
// the instance; a model, its slots and its optimizer state share one instance and are freed
// together when nothing references them any more.
import type { ActivationName, LossName } from '../config-types.js';

export type KernelVariant = 'js' | 'wasm-simd';

export type { LossResult } from '../nn/loss.js';
import type { LossResult } from '../nn/loss.js';

/** Hyperparameters and per-step scalars of one optimizer update; see shared/optim/optimizers.ts
 *  for the formulas. bc1 = 1 - β1^t, bc2 = 1 - β2^t (computed once per step by the caller);
 *  cGrad and cAvg are NAdam's two step coefficients. Unused fields are ignored. */
export interface UpdateScalars {
  lr: number;
  momentum: number;
  beta1: number;
  beta2: number;
  eps: number;
  alpha: number;
  rho: number;
  bc1: number;
  bc2: number;
  cGrad: number;
  cAvg: number;
}

export type UpdateRule = 'sgd' | 'momentum' | 'nesterov' | 'adagrad' | 'rmsprop' | 'adadelta' | 'adam' | 'nadam';

export interface Kernels {
  readonly variant: KernelVariant;

  /** n zeroed float32 values in this instance's memory */
  alloc(n: number): Float32Array;
  /** n zeroed int32 values in this instance's memory */
  allocInt32(n: number): Int32Array;
  /** n zeroed float64 values in this instance's memory (BatchNorm statistics and sums) */
  allocF64(n: number): Float64Array;
  /** n zeroed bytes in this instance's memory (IDX pixels read straight into it) */
  allocBytes(n: number): Uint8Array;
  /** whether the kernels can work on this array in place (it lies in this instance's memory) */
  owns(a: Float32Array | Int32Array | Float64Array | Uint8Array): boolean;

  /** y[r,j] = b[j] + Σ_k x[r,k]·W[j,k] for r < rows, j < m; x is rows×n, W is m×n (row-major,
   *  torch.nn.Linear's layout), b has m values, y is rows×m. */
  denseForward(
    x: Float32Array,
    W: Float32Array,
    b: Float32Array,
    y: Float32Array,
    rows: number,
    n: number,
    m: number,
  ): void;
  /** gW[j,k] += Σ_r dy[r,j]·x[r,k] and gb[j] += Σ_r dy[r,j], rows r ascending. With
   *  accumulate false the sums replace gW and gb (the same bits as zeroing them first). */
  denseGrads(
    x: Float32Array,
    dy: Float32Array,
    gW: Float32Array,
    gb: Float32Array,
    rows: number,
    n: number,
    m: number,
    accumulate?: boolean,
  ): void;
  /** dx[r,k] = Σ_j dy[r,j]·W[j,k] (overwrites dx), j ascending. */
  denseDx(dy: Float32Array, W: Float32Array, dx: Float32Array, rows: number, n: number, m: number): void;
  /** denseForward over the nonzero inputs only: y[r,j] = b[j] + Σ over the k with x[r,k] ≠ 0 of
   *  x[r,k]·W[j,k], with W given as Wp = sparsePanels(W) (panels.ts). The same bits as
   *  denseForward for a finite W (a skipped term is ±0; see assembly/sparse.ts). idx: scratch
   *  of sparseScratch(n) int32 values (panels.ts; allocInt32). */
  denseForwardSparse(
    x: Float32Array,
    Wp: Float32Array,
    b: Float32Array,
    y: Float32Array,
    idx: Int32Array,
    rows: number,
    n: number,
    m: number,
  ): void;
  /** denseForwardSparse with x[r,k] = table[bytes[r·n + k]] (IDX pixels, table[b] = b / 255
   *  as float32, table[0] = 0): the same bits as denseForwardSparse on those floats */
  denseForwardSparseBytes(
    bytes: Uint8Array,
    table: Float32Array,
    Wp: Float32Array,
    b: Float32Array,
    y: Float32Array,
    idx: Int32Array,
    rows: number,
    n: number,
    m: number,
  ): void;
  /** how many of x[0..count) are not zero */
  countNonzero(x: Float32Array, count: number): number;
  /** how many of bytes[0..count) are not zero */
  countNonzeroBytes(bytes: Uint8Array, count: number): number;
  /** W (m × n) into Wp in sparsePanels' layout (panels.ts), for denseForwardSparse; false when
   *  W holds a value that is not finite (the sparse path would then turn 0·w into NaN) */
  sparsePanels(W: Float32Array, Wp: Float32Array, n: number, m: number): boolean;
  /** x[i] = bytes[i] / 255 as float32 for i < count (IDX pixels to [0, 1], as training's loader
   *  scales them: fround(b / 255)) */
  unitBytes(bytes: Uint8Array, x: Float32Array, count: number): void;
  /** predict's rows as text into out (assembly/text.ts: the bytes of coordinator/model/format.ts's
   *  writer): probs rows × classes, predicted rows, row numbers from firstRow, the text pieces
   *  (offset, length pairs into text) in text.ts's order. Returns the bytes written, or −1 when it
   *  writes nothing the caller may use: a probability outside [0, 1], or the js variant, which
   *  leaves predict's text to its JS writer. */
  formatRows(
    probs: Float64Array,
    predicted: Int32Array,
    rows: number,
    classes: number,
    firstRow: number,
    text: Uint8Array,
    pieces: Int32Array,
    out: Uint8Array,
  ): number;

  /** y = f(x) for the first `count` elements */
  activationForward(name: ActivationName, x: Float32Array, y: Float32Array, count: number): void;
  /** dx = dy·f'(x) for the first `count` elements (x the activation's input, y its output) */
  activationBackward(
    name: ActivationName,
    x: Float32Array,
    y: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    count: number,
  ): void;

  /** Dropout in training: for each row r and unit u < width, keep = hashUniformFrom(prefixes[r], u) ≥ rate
   *  (shared/rng.ts); scale[r,u] = keep ? keepScale : 0 and y = x·scale. */
  dropoutForward(
    x: Float32Array,
    y: Float32Array,
    scale: Float32Array,
    prefixes: Int32Array,
    rows: number,
    width: number,
    rate: number,
    keepScale: number,
  ): void;
  /** out[i] = a[i]·b[i] for i < count (dropout backward: dx = dy·scale) */
  multiply(a: Float32Array, b: Float32Array, out: Float32Array, count: number): void;

  /** Loss sum and correct count over `rows` rows of logits (rows×classes); writes
   *  d(loss sum)/d(logits) into dlogits unless null. See shared/nn/loss.ts. */
  loss(
    name: LossName,
    logits: Float32Array,
    labels: Int32Array,
    rows: number,
    classes: number,
    dlogits: Float32Array | null,
  ): LossResult;

  /** left[i] += right[i] (float32) for i < count */
  addInto(left: Float32Array, right: Float32Array, count: number): void;
  /** out[i] = sum[i] / rows (float32, correctly rounded) for i < count; true when all are finite */
  meanGradient(sum: Float32Array, out: Float32Array, rows: number, count: number): boolean;
  /** Σ g[i]² for i < count, accumulated in float64 with i ascending (the same bits in every variant) */
  sumSquares(g: Float32Array, count: number): number;

  /** One optimizer update in place over `count` parameters: p, g and the state slots
   *  (s1, s2: the rule's slots in SLOT_NAMES order; unused ones may be any array). Float64
   *  arithmetic per element as in shared/optim/optimizers.ts, so every variant gives the same
   *  bits as the js one. */
  update(
    rule: UpdateRule,
    p: Float32Array,
    g: Float32Array,
    s1: Float32Array,
    s2: Float32Array,
    count: number,
    k: UpdateScalars,
  ): void;

  // BatchNorm over `rows` rows of F features (shared/nn/norms.ts). Every variant computes each
  // value with the same float64 operations in the same order as the js one, so all give the
  // same bits: statistics and sums are accumulated over rows r ascending starting from +0,
  // and each float32 output is one rounding of its float64 expression. gammaBeta is the
  // layer's parameters [γ_0..γ_{F-1}, β_0..β_{F-1}], running its buffers [mean…, var…];
  // stats is BatchStats [n, mean_0..mean_{F-1}, M2_0..M2_{F-1}], sums BatchGradSums
  // [Σdy_0..Σdy_{F-1}, Σ(dy·x̂)_0..Σ(dy·x̂)_{F-1}].

  /** out = [rows, mean_f = (Σ_r x[r,f]) / rows, M2_f = Σ_r (x[r,f] - mean_f)²] (1 + 2F values) */
  bnPartialStats(x: Float32Array, rows: number, F: number, out: Float64Array): void;
  /** Training forward with the batch statistics: invStd[f] = 1 / √(M2_f / n + eps),
   *  x̂ = (x - mean_f)·invStd[f] (f64), xhat = f32(x̂), y = f32(γ_f·x̂ + β_f). */
  bnApplyStats(
    x: Float32Array,
    rows: number,
    F: number,
    stats: Float64Array,
    gammaBeta: Float32Array,
    eps: number,
    invStd: Float64Array,
    xhat: Float32Array,
    y: Float32Array,
  ): void;
  /** Eval forward with the running statistics: invStd[f] = 1 / √(var_f + eps), then as
   *  bnApplyStats with mean_f the running mean. */
  bnForwardEval(
    x: Float32Array,
    rows: number,
    F: number,
    running: Float32Array,
    gammaBeta: Float32Array,
    eps: number,
    invStd: Float64Array,
    xhat: Float32Array,
    y: Float32Array,
  ): void;
  /** sums = [Σ_r dy[r,f], Σ_r dy[r,f]·xhat[r,f]] (2F values, replaced), then
   *  gGammaBeta[f] = f32(gGammaBeta[f] + sums[F+f]) and gGammaBeta[F+f] = f32(gGammaBeta[F+f] + sums[f]). */
  bnPartialGradSums(
    dy: Float32Array,
    xhat: Float32Array,
    rows: number,
    F: number,
    sums: Float64Array,
    gGammaBeta: Float32Array,
  ): void;
  /** dx = f32((γ_f·invStd[f])·((dy - sums[f]/n) - (xhat·sums[F+f])/n)) */
  bnApplyGradSums(
    dy: Float32Array,
    xhat: Float32Array,
    rows: number,
    F: number,
    gammaBeta: Float32Array,
    invStd: Float64Array,
    sums: Float64Array,
    n: number,
    dx: Float32Array,
  ): void;
  /** Eval-mode backward (the running statistics are constants): dx = f32((γ_f·invStd[f])·dy) */
  bnBackwardEval(
    dy: Float32Array,
    rows: number,
    F: number,
    gammaBeta: Float32Array,
    invStd: Float64Array,
    dx: Float32Array,
  ): void;
  /** running mean_f = f32((1 - m)·mean_f + m·stats mean_f), running var_f = f32((1 - m)·var_f + m·v)
   *  with v = M2_f / (n - 1) if n > 1, else M2_f */
  bnUpdateRunning(running: Float32Array, stats: Float64Array, F: number, momentum: number): void;
}
