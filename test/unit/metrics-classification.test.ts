// shared/metrics/classification.ts against confusion matrices worked out by hand.
import { describe, expect, it } from 'vitest';
import { classificationMetrics, confusionMatrix } from '../../shared/metrics/classification.js';

describe('classification metrics', () => {
  it('builds the confusion matrix as counts[actual][predicted]', () => {
    const m = confusionMatrix([0, 0, 1, 2, 2, 1], [0, 1, 1, 2, 0, 1], 3);
    expect(m).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
  });

  it('3 classes: accuracy, precision, recall, F1 and their averages', () => {
    // actual rows, predicted columns: support 6, 6, 4; predicted as 7, 4, 5
    const r = classificationMetrics([
      [5, 1, 0],
      [2, 3, 1],
      [0, 0, 4],
    ]);
    expect(r.samples).toBe(16);
    expect(r.correct).toBe(12);
    expect(r.accuracy).toBe(0.75);
    const c = r.perClass;
    expect(c.map((x) => x.support)).toEqual([6, 6, 4]);
    expect(c[0]!.precision).toBeCloseTo(5 / 7, 12);
    expect(c[0]!.recall).toBeCloseTo(5 / 6, 12);
    expect(c[0]!.f1).toBeCloseTo(10 / 13, 12);
    expect(c[1]!.precision).toBeCloseTo(3 / 4, 12);
    expect(c[1]!.recall).toBeCloseTo(1 / 2, 12);
    expect(c[1]!.f1).toBeCloseTo(3 / 5, 12);
    expect(c[2]!.precision).toBeCloseTo(4 / 5, 12);
    expect(c[2]!.recall).toBe(1);
    expect(c[2]!.f1).toBeCloseTo(8 / 9, 12);
    expect(r.macro.precision).toBeCloseTo((5 / 7 + 3 / 4 + 4 / 5) / 3, 12);
    expect(r.macro.f1).toBeCloseTo((10 / 13 + 3 / 5 + 8 / 9) / 3, 12);
    // the support-weighted recall is the accuracy
    expect(r.weighted.recall).toBeCloseTo(0.75, 12);
  });

  it('a class never predicted has precision 0 and F1 0, not NaN', () => {
    const r = classificationMetrics([
      [2, 0],
      [1, 0],
    ]);
    expect(r.accuracy).toBeCloseTo(2 / 3, 12);
    expect(r.perClass[0]).toEqual({ precision: 2 / 3, recall: 1, f1: 0.8, support: 2 });
    expect(r.perClass[1]).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
  });

  it('a class with no sample has recall 0; no samples at all: accuracy NaN', () => {
    const r = classificationMetrics([
      [3, 1],
      [0, 0],
    ]);
    expect(r.perClass[1]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(r.perClass[0]!.recall).toBe(0.75);
    expect(classificationMetrics([[0]]).accuracy).toBeNaN();
  });

  it('refuses a pair outside the classes', () => {
    expect(() => confusionMatrix([0, 3], [0, 1], 2)).toThrow(RangeError);
  });
});
