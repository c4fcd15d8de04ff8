// The typed calls of the wasm-simd kernels: each checks its sizes and names, turns its arrays
// into byte offsets of the instance's memory (the instance's `ptr`, which checks each array is
// a view of that memory long enough for the call) and calls the module's export. wasm.ts makes
// the instance (memory, allocator, the checks) and adds these calls to it.
import type { LossName } from '../config-types.js';
import type { Kernels, LossResult, UpdateRule, UpdateScalars } from './kernels.js';
import { sparseScratch } from './panels.js';
import { ACTIVATION_IDS, type Exports, LOSS_IDS, RULE_IDS, UPDATE_NAMES } from './wasm-abi.js';

/** an array a kernel reads or writes */
export type View = Float32Array | Int32Array | Float64Array | Uint8Array;

/** byte offset of `a`, after checking that it is a view of the instance's memory with at least
 *  `need` values (`arg` and `fn` name it in the error) */
export type Ptr = (a: View, need: number, arg: string, fn: string) => number;

/** the Kernels methods that call the module (the rest, wasm.ts gives) */
export type KernelCalls = Omit<Kernels, 'variant' | 'alloc' | 'allocInt32' | 'allocF64' | 'allocBytes' | 'owns'>;

/** Sizes must be int32 values ≥ 0 (the module reads them as unsigned: a negative one would
 *  run past every array). */
function sizes(fn: string, a: number, b = 0, c = 0): void {
  if ((a | 0) !== a || (b | 0) !== b || (c | 0) !== c || a < 0 || b < 0 || c < 0) {
    throw new Error(`wasm-simd ${fn}: sizes must be integers ≥ 0, got ${[a, b, c].join(', ')}`);
  }
}

/** the module's number for a name (an unknown one would silently run case 0) */
function id<K extends string>(table: Record<K, number>, name: K, fn: string): number {
  const v = table[name];
  if (v === undefined) throw new Error(`wasm-simd ${fn}: unknown name ${JSON.stringify(name)}`);
  return v;
}

/** The calls of one instance: `wasm` its module's exports, `ptr` its memory's check. */
export function wasmCalls(wasm: Exports, ptr: Ptr): KernelCalls {
  return {
    denseForward(x, W, b, y, rows, n, m) {
      const f = 'denseForward';
      sizes(f, rows, n, m);
      wasm.denseForward(
        ptr(x, rows * n, 'x', f),
        ptr(W, m * n, 'W', f),
        ptr(b, m, 'b', f),
        ptr(y, rows * m, 'y', f),
        rows,
        n,
        m,
      );
    },

    denseGrads(x, dy, gW, gb, rows, n, m, accumulate = true) {
      const f = 'denseGrads';
      sizes(f, rows, n, m);
      wasm.denseGrads(
        ptr(x, rows * n, 'x', f),
        ptr(dy, rows * m, 'dy', f),
        ptr(gW, m * n, 'gW', f),
        ptr(gb, m, 'gb', f),
        rows,
        n,
        m,
        accumulate ? 1 : 0,
      );
    },

    denseDx(dy, W, dx, rows, n, m) {
      const f = 'denseDx';
      sizes(f, rows, n, m);
      wasm.denseDx(ptr(dy, rows * m, 'dy', f), ptr(W, m * n, 'W', f), ptr(dx, rows * n, 'dx', f), rows, n, m);
    },

    denseForwardSparse(x, Wp, b, y, idx, rows, n, m) {
      const f = 'denseForwardSparse';
      sizes(f, rows, n, m);
      wasm.denseForwardSparse(
        ptr(x, rows * n, 'x', f),
        ptr(Wp, m * n, 'Wp', f),
        ptr(b, m, 'b', f),
        ptr(y, rows * m, 'y', f),
        ptr(idx, sparseScratch(n), 'idx', f),
        rows,
        n,
        m,
      );
    },

    denseForwardSparseBytes(bytes, table, Wp, b, y, idx, rows, n, m) {
      const f = 'denseForwardSparseBytes';
      sizes(f, rows, n, m);
      if (table[0] !== 0) throw new Error(`wasm-simd ${f}: table[0] must be 0 (a zero byte is a zero input)`);
      wasm.denseForwardSparseBytes(
        ptr(bytes, rows * n, 'bytes', f),
        ptr(table, 256, 'table', f),
        ptr(Wp, m * n, 'Wp', f),
        ptr(b, m, 'b', f),
        ptr(y, rows * m, 'y', f),
        ptr(idx, sparseScratch(n), 'idx', f),
        rows,
        n,
        m,
      );
    },

    countNonzero(x, count) {
      const f = 'countNonzero';
      sizes(f, count);
      return wasm.countNonzero(ptr(x, count, 'x', f), count);
    },

    countNonzeroBytes(bytes, count) {
      const f = 'countNonzeroBytes';
      sizes(f, count);
      return wasm.countNonzeroBytes(ptr(bytes, count, 'bytes', f), count);
    },

    sparsePanels(W, Wp, n, m) {
      const f = 'sparsePanels';
      sizes(f, n, m, n * m);
      return wasm.sparsePanels(ptr(W, m * n, 'W', f), ptr(Wp, m * n, 'Wp', f), n, m) === 1;
    },

    unitBytes(bytes, x, count) {
      const f = 'unitBytes';
      sizes(f, count);
      wasm.unitBytes(ptr(bytes, count, 'bytes', f), ptr(x, count, 'x', f), count);
    },

    formatRows(probs, predicted, rows, classes, firstRow, text, pieces, out) {
      const f = 'formatRows';
      sizes(f, rows, classes);
      if (!Number.isInteger(firstRow) || firstRow < 1 || firstRow + rows > 2 ** 53)
        throw new Error(`wasm-simd ${f}: firstRow must be an integer from 1, got ${firstRow}`);
      const n = 6 + 2 * classes;
      if (pieces.length < 2 * n) throw new Error(`wasm-simd ${f}: pieces has ${pieces.length} values, needs ${2 * n}`);
      const len = (i: number): number => pieces[2 * i + 1]!;
      for (let i = 0; i < n; i++) {
        if (pieces[2 * i]! < 0 || len(i) < 0 || pieces[2 * i]! + len(i) > text.length)
          throw new Error(`wasm-simd ${f}: text piece ${i} is not inside text`);
      }
      // the most one row writes: its pieces, a row number (< 2^53: 16 digits) and C + 1 probabilities
      // of at most 14 bytes ("0." and 12 decimals)
      let row = Math.max(len(0), len(1)) + len(2) + len(3 + classes) + len(4 + classes) + len(5 + 2 * classes);
      row += 16 + (classes + 1) * 14 + Math.max(...Array.from({ length: classes }, (_, c) => len(3 + c)));
      for (let c = 0; c < classes; c++) row += len(5 + classes + c);
      const need = rows * row;
      return wasm.formatRows(
        ptr(probs, rows * classes, 'probs', f),
        ptr(predicted, rows, 'predicted', f),
        rows,
        classes,
        firstRow,
        ptr(text, 0, 'text', f),
        ptr(pieces, 2 * n, 'pieces', f),
        ptr(out, need, 'out', f),
      );
    },

    activationForward(name, x, y, count) {
      const f = 'activationForward';
      sizes(f, count);
      wasm.activationForward(id(ACTIVATION_IDS, name, f), ptr(x, count, 'x', f), ptr(y, count, 'y', f), count);
    },

    activationBackward(name, x, y, dy, dx, count) {
      const f = 'activationBackward';
      sizes(f, count);
      wasm.activationBackward(
        id(ACTIVATION_IDS, name, f),
        ptr(x, count, 'x', f),
        ptr(y, count, 'y', f),
        ptr(dy, count, 'dy', f),
        ptr(dx, count, 'dx', f),
        count,
      );
    },

    dropoutForward(x, y, scale, prefixes, rows, width, rate, keepScale) {
      const f = 'dropoutForward';
      sizes(f, rows, width);
      const c = rows * width;
      wasm.dropoutForward(
        ptr(x, c, 'x', f),
        ptr(y, c, 'y', f),
        ptr(scale, c, 'scale', f),
        ptr(prefixes, rows, 'prefixes', f),
        rows,
        width,
        rate,
        keepScale,
      );
    },

    multiply(a, b, out, count) {
      const f = 'multiply';
      sizes(f, count);
      wasm.multiply(ptr(a, count, 'a', f), ptr(b, count, 'b', f), ptr(out, count, 'out', f), count);
    },

    loss(name: LossName, logits, labels, rows, classes, dlogits): LossResult {
      const f = 'loss';
      sizes(f, rows, classes);
      const c = rows * classes;
      const lossSum = wasm.loss(
        id(LOSS_IDS, name, f),
        ptr(logits, c, 'logits', f),
        ptr(labels, rows, 'labels', f),
        rows,
        classes,
        dlogits ? ptr(dlogits, c, 'dlogits', f) : 0,
        dlogits ? 1 : 0,
      );
      return { lossSum, correct: wasm.lossCorrect() };
    },

    addInto(left, right, count) {
      const f = 'addInto';
      sizes(f, count);
      wasm.addInto(ptr(left, count, 'left', f), ptr(right, count, 'right', f), count);
    },

    meanGradient(sum, out, rows, count) {
      const f = 'meanGradient';
      sizes(f, count, rows);
      return wasm.meanGradient(ptr(sum, count, 'sum', f), ptr(out, count, 'out', f), rows, count) === 1;
    },

    sumSquares(g, count) {
      const f = 'sumSquares';
      sizes(f, count);
      return wasm.sumSquares(ptr(g, count, 'g', f), count);
    },

    update(rule: UpdateRule, p, g, s1, s2, count, k: UpdateScalars) {
      const f = UPDATE_NAMES[rule] ?? 'update';
      sizes(f, count);
      const r = id(RULE_IDS, rule, f);
      // slots a rule does not use may be any array: pass the parameters' offset instead
      const slots = r === 0 ? 0 : r <= 4 ? 1 : 2;
      const pp = ptr(p, count, 'p', f);
      const a = slots >= 1 ? ptr(s1, count, 's1', f) : pp;
      const b = slots >= 2 ? ptr(s2, count, 's2', f) : pp;
      wasm.update(
        r,
        pp,
        ptr(g, count, 'g', f),
        a,
        b,
        count,
        k.lr,
        k.momentum,
        k.beta1,
        k.beta2,
        k.eps,
        k.alpha,
        k.rho,
        k.bc1,
        k.bc2,
        k.cGrad,
        k.cAvg,
      );
    },

    bnPartialStats(x, rows, F, out) {
      const f = 'bnPartialStats';
      sizes(f, rows, F);
      wasm.bnPartialStats(ptr(x, rows * F, 'x', f), rows, F, ptr(out, 1 + 2 * F, 'out', f));
    },

    bnApplyStats(x, rows, F, stats, gammaBeta, eps, invStd, xhat, y) {
      const f = 'bnApplyStats';
      sizes(f, rows, F);
      const c = rows * F;
      wasm.bnApplyStats(
        ptr(x, c, 'x', f),
        rows,
        F,
        ptr(stats, 1 + 2 * F, 'stats', f),
        ptr(gammaBeta, 2 * F, 'gammaBeta', f),
        eps,
        ptr(invStd, F, 'invStd', f),
        ptr(xhat, c, 'xhat', f),
        ptr(y, c, 'y', f),
      );
    },

    bnForwardEval(x, rows, F, running, gammaBeta, eps, invStd, xhat, y) {
      const f = 'bnForwardEval';
      sizes(f, rows, F);
      const c = rows * F;
      wasm.bnForwardEval(
        ptr(x, c, 'x', f),
        rows,
        F,
        ptr(running, 2 * F, 'running', f),
        ptr(gammaBeta, 2 * F, 'gammaBeta', f),
        eps,
        ptr(invStd, F, 'invStd', f),
        ptr(xhat, c, 'xhat', f),
        ptr(y, c, 'y', f),
      );
    },

    bnPartialGradSums(dy, xhat, rows, F, sums, gGammaBeta) {
      const f = 'bnPartialGradSums';
      sizes(f, rows, F);
      const c = rows * F;
      wasm.bnPartialGradSums(
        ptr(dy, c, 'dy', f),
        ptr(xhat, c, 'xhat', f),
        rows,
        F,
        ptr(sums, 2 * F, 'sums', f),
        ptr(gGammaBeta, 2 * F, 'gGammaBeta', f),
      );
    },

    bnApplyGradSums(dy, xhat, rows, F, gammaBeta, invStd, sums, n, dx) {
      const f = 'bnApplyGradSums';
      sizes(f, rows, F);
      const c = rows * F;
      wasm.bnApplyGradSums(
        ptr(dy, c, 'dy', f),
        ptr(xhat, c, 'xhat', f),
        rows,
        F,
        ptr(gammaBeta, F, 'gammaBeta', f),
        ptr(invStd, F, 'invStd', f),
        ptr(sums, 2 * F, 'sums', f),
        n,
        ptr(dx, c, 'dx', f),
      );
    },

    bnBackwardEval(dy, rows, F, gammaBeta, invStd, dx) {
      const f = 'bnBackwardEval';
      sizes(f, rows, F);
      const c = rows * F;
      wasm.bnBackwardEval(
        ptr(dy, c, 'dy', f),
        rows,
        F,
        ptr(gammaBeta, F, 'gammaBeta', f),
        ptr(invStd, F, 'invStd', f),
        ptr(dx, c, 'dx', f),
      );
    },

    bnUpdateRunning(running, stats, F, momentum) {
      const f = 'bnUpdateRunning';
      sizes(f, F);
      wasm.bnUpdateRunning(ptr(running, 2 * F, 'running', f), ptr(stats, 1 + 2 * F, 'stats', f), F, momentum);
    },
  };
}
