// Losses as per-sample sums (the caller divides once by the global batch size, so sharding
// cannot change the numbers). Each returns the loss sum and the number of correct argmax
// predictions, and writes d(loss sum)/d(logits).
//   cross_entropy: ℓ = logsumexp(z) - z_y, computed as m + log Σ exp(z - m), m = max z;
//                  ∂ℓ/∂z = softmax(z) - onehot(y)
//   mse:           ℓ = (1/C)·Σ_j (z_j - t_j)² with t = onehot(y) (torch's mean over outputs);
//                  ∂ℓ/∂z_j = 2(z_j - t_j)/C
import type { LossName } from '../config-types.js';

export interface LossResult {
  lossSum: number;
  correct: number;
}

function argmax(z: Float32Array, o: number, c: number): number {
  let best = 0;
  for (let j = 1; j < c; j++) if (z[o + j]! > z[o + best]!) best = j;
  return best;
}

export function lossForward(
  name: LossName,
  logits: Float32Array,
  labels: Int32Array,
  rows: number,
  classes: number,
  dlogits: Float32Array | null,
): LossResult {
  let lossSum = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    const y = labels[r]!;
    if (argmax(logits, o, classes) === y) correct++;
    if (name === 'cross_entropy') {
      let m = -Infinity;
      for (let j = 0; j < classes; j++) m = Math.max(m, logits[o + j]!);
      let s = 0;
      for (let j = 0; j < classes; j++) s += Math.exp(logits[o + j]! - m);
      const lse = m + Math.log(s);
      lossSum += lse - logits[o + y]!;
      if (dlogits) {
        for (let j = 0; j < classes; j++) {
          dlogits[o + j] = Math.exp(logits[o + j]! - lse) - (j === y ? 1 : 0);
        }
      }
    } else {
      let s = 0;
      for (let j = 0; j < classes; j++) {
        const d = logits[o + j]! - (j === y ? 1 : 0);
        s += d * d;
        if (dlogits) dlogits[o + j] = (2 * d) / classes;
      }
      lossSum += s / classes;
    }
  }
  return { lossSum, correct };
}
