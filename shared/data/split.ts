// Train / validation / test split and the per-epoch sample order. Pure functions of their
// arguments (and the seed): the coordinator and every worker compute the same sets.
import { UserError } from '../errors.js';
import { Rng } from '../rng.js';

export interface SplitSets {
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
}

/**
 * Stratified split. For each class c separately: the indices of its samples (ascending) are
 * shuffled with `new Rng(seed, 'split', c)`; the first round(fval·count) go to val, the next
 * round(ftest·count) to test (clamped so the two never exceed count), the rest to train.
 * Each split is then the union over classes, SORTED ASCENDING by sample index: a split is a
 * set, and its order carries no information (epochOrder shuffles train each epoch).
 */
export function stratifiedSplit(
  y: Int32Array, classes: number, fractions: [number, number, number], seed: number,
): SplitSets {
  const [, fVal, fTest] = fractions;
  const sum = fractions[0] + fVal + fTest;
  if (fractions.some((f) => !Number.isFinite(f) || f < 0 || f > 1) || Math.abs(sum - 1) > 1e-9) {
    throw new UserError('CONFIG_INVALID', `data.split must be three fractions in [0, 1] summing to 1, got [${fractions.join(', ')}]`);
  }
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < y.length; i++) {
    const c = y[i]!;
    if (c < 0 || c >= classes) {
      throw new UserError('DATA_INVALID', `sample ${i} has label ${c}, outside 0..${classes - 1}`);
    }
    byClass[c]!.push(i);
  }
  const train: number[] = [], val: number[] = [], test: number[] = [];
  byClass.forEach((members, c) => {
    const idx = new Rng(seed, 'split', c).shuffle(Int32Array.from(members));
    const count = idx.length;
    const nVal = Math.min(count, Math.round(fVal * count));
    const nTest = Math.min(count - nVal, Math.round(fTest * count));
    for (let k = 0; k < count; k++) {
      (k < nVal ? val : k < nVal + nTest ? test : train).push(idx[k]!);
    }
  });
  const sorted = (a: number[]): Int32Array => Int32Array.from(a).sort();
  return { train: sorted(train), val: sorted(val), test: sorted(test) };
}

/** The order of the train samples in epoch `epoch`: a permutation drawn from Rng(seed, 'epoch', epoch). */
export function epochOrder(train: Int32Array, seed: number, epoch: number): Int32Array {
  return new Rng(seed, 'epoch', epoch).shuffle(Int32Array.from(train));
}
