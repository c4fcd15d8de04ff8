// Classification metrics, pure: the confusion matrix of (actual, predicted) class pairs, and
// from it the accuracy and each class's precision, recall and F1 (with their macro and
// support-weighted averages). A class no sample was predicted as has precision 0; one with no
// sample has recall 0; F1 is 0 when precision + recall is 0 (scikit-learn's zero_division=0).

/** counts[actual][predicted] */
export type ConfusionMatrix = number[][];

export function emptyConfusion(classes: number): ConfusionMatrix {
  return Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
}

/** add one sample: actual class `a`, predicted class `p` */
export function addToConfusion(m: ConfusionMatrix, a: number, p: number): void {
  const row = m[a];
  if (!row || p < 0 || p >= row.length) throw new RangeError(`class pair (${a}, ${p}) outside 0..${m.length - 1}`);
  row[p]!++;
}

export function confusionMatrix(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classes: number,
): ConfusionMatrix {
  if (actual.length !== predicted.length)
    throw new RangeError(`${actual.length} actual classes but ${predicted.length} predicted ones`);
  const m = emptyConfusion(classes);
  for (let i = 0; i < actual.length; i++) addToConfusion(m, actual[i]!, predicted[i]!);
  return m;
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** samples of this class */
  support: number;
}

export interface ClassificationMetrics {
  samples: number;
  correct: number;
  accuracy: number;
  perClass: ClassMetrics[];
  macro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

export function classificationMetrics(m: ConfusionMatrix): ClassificationMetrics {
  const k = m.length;
  const support = m.map((row) => row.reduce((s, v) => s + v, 0));
  const predictedAs = Array.from({ length: k }, (_, c) => m.reduce((s, row) => s + row[c]!, 0));
  const samples = support.reduce((s, v) => s + v, 0);
  let correct = 0;
  const perClass = m.map((row, c) => {
    const tp = row[c]!;
    correct += tp;
    const precision = ratio(tp, predictedAs[c]!);
    const recall = ratio(tp, support[c]!);
    return { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support: support[c]! };
  });
  const avg = (key: 'precision' | 'recall' | 'f1', weighted: boolean): number =>
    weighted
      ? ratio(
          perClass.reduce((s, c) => s + c[key] * c.support, 0),
          samples,
        )
      : ratio(
          perClass.reduce((s, c) => s + c[key], 0),
          k,
        );
  return {
    samples,
    correct,
    accuracy: samples === 0 ? NaN : correct / samples,
    perClass,
    macro: { precision: avg('precision', false), recall: avg('recall', false), f1: avg('f1', false) },
    weighted: { precision: avg('precision', true), recall: avg('recall', true), f1: avg('f1', true) },
  };
}
