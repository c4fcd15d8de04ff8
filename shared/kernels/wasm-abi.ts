// The ABI of the wasm-simd kernels' module (shared/kernels/assembly, built into
// shared/kernels/build/kernels.wasm): its exported functions, whose pointers are byte offsets
// into the memory it imports, and the numbers it takes for activation, loss and update-rule
// names. The module and these declarations change together.
import type { ActivationName, LossName } from '../config-types.js';
import type { UpdateRule } from './kernels.js';

export const ACTIVATION_IDS: Record<ActivationName, number> = {
  relu: 0,
  leaky_relu: 1,
  elu: 2,
  selu: 3,
  gelu: 4,
  sigmoid: 5,
  tanh: 6,
  softplus: 7,
  silu: 8,
};
export const LOSS_IDS: Record<LossName, number> = { cross_entropy: 0, mse: 1 };
export const RULE_IDS: Record<UpdateRule, number> = {
  sgd: 0,
  momentum: 1,
  nesterov: 2,
  adagrad: 3,
  rmsprop: 4,
  adadelta: 5,
  adam: 6,
  nadam: 7,
};

/** names for error messages, made once (no string building per call) */
export const UPDATE_NAMES = Object.fromEntries(Object.keys(RULE_IDS).map((r) => [r, `update(${r})`])) as Record<
  UpdateRule,
  string
>;

/** The module's exports (pointers are byte offsets into the imported memory). */
export interface Exports {
  heapBase(): number;
  denseForward(x: number, w: number, b: number, y: number, rows: number, n: number, m: number): void;
  denseGrads(
    x: number,
    dy: number,
    gw: number,
    gb: number,
    rows: number,
    n: number,
    m: number,
    accumulate: number,
  ): void;
  denseDx(dy: number, w: number, dx: number, rows: number, n: number, m: number): void;
  denseForwardSparse(
    x: number,
    wt: number,
    b: number,
    y: number,
    idx: number,
    rows: number,
    n: number,
    m: number,
  ): void;
  denseForwardSparseBytes(
    bytes: number,
    table: number,
    wt: number,
    b: number,
    y: number,
    idx: number,
    rows: number,
    n: number,
    m: number,
  ): void;
  countNonzero(x: number, count: number): number;
  countNonzeroBytes(bytes: number, count: number): number;
  sparsePanels(w: number, out: number, n: number, m: number): number;
  unitBytes(bytes: number, x: number, count: number): void;
  formatRows(
    probs: number,
    predicted: number,
    rows: number,
    classes: number,
    firstRow: number,
    text: number,
    pieces: number,
    out: number,
  ): number;
  activationForward(id: number, x: number, y: number, count: number): void;
  activationBackward(id: number, x: number, y: number, dy: number, dx: number, count: number): void;
  dropoutForward(
    x: number,
    y: number,
    scale: number,
    prefixes: number,
    rows: number,
    width: number,
    rate: number,
    keepScale: number,
  ): void;
  multiply(a: number, b: number, out: number, count: number): void;
  addInto(left: number, right: number, count: number): void;
  meanGradient(sum: number, out: number, rows: number, count: number): number;
  sumSquares(g: number, count: number): number;
  loss(kind: number, logits: number, labels: number, rows: number, classes: number, dl: number, hasD: number): number;
  lossCorrect(): number;
  update(
    rule: number,
    p: number,
    g: number,
    a: number,
    b: number,
    count: number,
    lr: number,
    momentum: number,
    beta1: number,
    beta2: number,
    eps: number,
    alpha: number,
    rho: number,
    bc1: number,
    bc2: number,
    cGrad: number,
    cAvg: number,
  ): void;
  bnPartialStats(x: number, rows: number, F: number, out: number): void;
  bnApplyStats(
    x: number,
    rows: number,
    F: number,
    stats: number,
    gb: number,
    eps: number,
    invStd: number,
    xhat: number,
    y: number,
  ): void;
  bnForwardEval(
    x: number,
    rows: number,
    F: number,
    running: number,
    gb: number,
    eps: number,
    invStd: number,
    xhat: number,
    y: number,
  ): void;
  bnPartialGradSums(dy: number, xhat: number, rows: number, F: number, sums: number, g: number): void;
  bnApplyGradSums(
    dy: number,
    xhat: number,
    rows: number,
    F: number,
    gb: number,
    invStd: number,
    sums: number,
    n: number,
    dx: number,
  ): void;
  bnBackwardEval(dy: number, rows: number, F: number, gb: number, invStd: number, dx: number): void;
  bnUpdateRunning(running: number, stats: number, F: number, momentum: number): void;
}
