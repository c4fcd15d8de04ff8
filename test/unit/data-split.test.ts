// Stratified train/val/test split and the per-epoch order: proportions per class within one
// sample, disjoint and covering sets, reproducible from the seed; epochOrder a permutation
// that is a pure function of (seed, epoch).
import { describe, expect, it } from 'vitest';
import { epochOrder, stratifiedSplit } from '../../shared/data/split.js';

// 3 classes of unequal size, interleaved irregularly: 101 of class 0, 57 of class 1, 12 of class 2.
const counts = [101, 57, 12];
const y = new Int32Array(counts.reduce((a, b) => a + b));
{
  const left = [...counts];
  for (let i = 0, c = 0; i < y.length; i++) {
    while (left[c] === 0) c = (c + 1) % 3;
    y[i] = c;
    left[c]!--;
    c = (c + 1 + (i % 2)) % 3;
  }
}
const fractions: [number, number, number] = [0.7, 0.2, 0.1];

describe('stratifiedSplit', () => {
  const s = stratifiedSplit(y, 3, fractions, 42);

  it('gives each class its share of val and test within ±1 sample', () => {
    for (let c = 0; c < 3; c++) {
      const inClass = (set: Int32Array): number => [...set].filter((i) => y[i] === c).length;
      expect(Math.abs(inClass(s.val) - 0.2 * counts[c]!)).toBeLessThanOrEqual(1);
      expect(Math.abs(inClass(s.test) - 0.1 * counts[c]!)).toBeLessThanOrEqual(1);
      expect(Math.abs(inClass(s.train) - 0.7 * counts[c]!)).toBeLessThanOrEqual(1);
    }
  });

  it('is disjoint and covers every sample exactly once', () => {
    const all = [...s.train, ...s.val, ...s.test].sort((a, b) => a - b);
    expect(all).toEqual([...Array(y.length).keys()]);
  });

  it('returns each split sorted ascending (a set, not an order)', () => {
    for (const set of [s.train, s.val, s.test]) {
      expect([...set]).toEqual([...set].sort((a, b) => a - b));
    }
  });

  it('same seed, same split; different seed, different split', () => {
    const again = stratifiedSplit(y, 3, fractions, 42);
    expect([...again.val]).toEqual([...s.val]);
    expect([...again.test]).toEqual([...s.test]);
    const other = stratifiedSplit(y, 3, fractions, 43);
    expect([...other.val]).not.toEqual([...s.val]);
  });

  it('never hands out more than a class has (1 sample, half val half test)', () => {
    const one = stratifiedSplit(new Int32Array([0, 1, 1]), 2, [0, 0.5, 0.5], 1);
    expect(one.train.length + one.val.length + one.test.length).toBe(3);
  });

  it('hits the exact totals round(f·n) over the dataset (MNIST class sizes → 8000/1000/1000)', () => {
    const sizes = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]; // the mnist package's classes
    const labels = Int32Array.from(sizes.flatMap((n, c) => Array<number>(n).fill(c)));
    const m = stratifiedSplit(labels, 10, [0.8, 0.1, 0.1], 0);
    expect([m.train.length, m.val.length, m.test.length]).toEqual([8000, 1000, 1000]);
    sizes.forEach((n, c) => {
      const inVal = Array.from(m.val).filter((i) => labels[i] === c).length;
      expect(Math.abs(inVal - n / 10)).toBeLessThanOrEqual(1);
    });
  });

  it('rejects fractions that do not sum to 1', () => {
    expect(() => stratifiedSplit(y, 3, [0.7, 0.2, 0.2], 1)).toThrow(/data\.split must be three fractions/);
  });
});

describe('epochOrder', () => {
  const train = stratifiedSplit(y, 3, fractions, 7).train;

  it('is a permutation of the train indices', () => {
    const o = epochOrder(train, 7, 0);
    expect(o.length).toBe(train.length);
    expect([...o].sort((a, b) => a - b)).toEqual([...train]);
    expect([...o]).not.toEqual([...train]);
  });

  it('is a pure function of (seed, epoch) and changes with either', () => {
    expect([...epochOrder(train, 7, 3)]).toEqual([...epochOrder(train, 7, 3)]);
    expect([...epochOrder(train, 7, 3)]).not.toEqual([...epochOrder(train, 7, 4)]);
    expect([...epochOrder(train, 7, 3)]).not.toEqual([...epochOrder(train, 8, 3)]);
  });

  it('does not modify its input', () => {
    const copy = train.slice();
    epochOrder(train, 7, 1);
    expect([...train]).toEqual([...copy]);
  });
});
