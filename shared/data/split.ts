// Train / validation / test split and the per-epoch sample order. Pure functions of their
// arguments (and the seed): the coordinator and every worker compute the same sets.
import { largestRemainder } from '../apportion.js';
import { UserError } from '../errors.js';
import { Rng } from '../rng.js';

export interface SplitSets {
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
}

/**
 * Stratified split. The split sizes are round(f·n) over the whole dataset (validation and
 * test; train gets the rest), shared out among the classes in proportion to their sizes by
 * the largest-remainder method (ties to the lower class index), so the totals are exact and
 * every class is within one sample of its share. For each class c separately: the indices of
 * its samples (ascending) are shuffled with `new Rng(seed, 'split', c)`; the first nVal(c) go
 * to val, the next nTest(c) to test, the rest to train.
 * Each split is then the union over classes, SORTED ASCENDING by sample index: a split is a
 * set, and its order carries no information (epochOrder shuffles train each epoch).
 */
export function stratifiedSplit(
  y: Int32Array,
  classes: number,
  fractions: [number, number, number],
  seed: number,
): SplitSets {
  const [, fVal, fTest] = fractions;
  const sum = fractions[0] + fVal + fTest;
  if (fractions.some((f) => !Number.isFinite(f) || f < 0 || f > 1) || Math.abs(sum - 1) > 1e-9) {
    throw new UserError(
      'CONFIG_INVALID',
      `data.split must be three fractions in [0, 1] summing to 1, got [${fractions.join(', ')}]`,
    );
  }
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < y.length; i++) {
    const c = y[i]!;
    if (c < 0 || c >= classes) {
      throw new UserError('DATA_INVALID', `sample ${i} has label ${c}, outside 0..${classes - 1}`);
    }
    byClass[c]!.push(i);
  }
  const counts = byClass.map((m) => m.length);
  const nVal = largestRemainder(Math.min(Math.round(fVal * y.length), y.length), counts);
  const nTest = largestRemainder(
    Math.min(Math.round(fTest * y.length), y.length - nVal.reduce((a, b) => a + b, 0)),
    counts.map((c, k) => c - nVal[k]!),
  );
  const train: number[] = [],
    val: number[] = [],
    test: number[] = [];
  byClass.forEach((members, c) => {
    const idx = new Rng(seed, 'split', c).shuffle(Int32Array.from(members));
    for (let k = 0; k < idx.length; k++) {
      (k < nVal[c]! ? val : k < nVal[c]! + nTest[c]! ? test : train).push(idx[k]!);
    }
  });
  const sorted = (a: number[]): Int32Array => Int32Array.from(a).sort();
  return { train: sorted(train), val: sorted(val), test: sorted(test) };
}

/** The order of the train samples in epoch `epoch`: a permutation drawn from Rng(seed, 'epoch', epoch). */
export function epochOrder(train: Int32Array, seed: number, epoch: number): Int32Array {
  return new Rng(seed, 'epoch', epoch).shuffle(Int32Array.from(train));
}
