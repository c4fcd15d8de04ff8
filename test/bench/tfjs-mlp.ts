// The benchmark's reference model: the same MLP as gradwire's compact form (Dense → [BatchNorm]
// → ReLU → [Dropout] per hidden layer, then Dense to the classes), written with tfjs-core ops.
// Weights are stored [in × out] (TF.js's layout), he-normal initialized; BN is tf.moments over
// the batch plus learnable γ/β with PyTorch-style running statistics (momentum 0.1, unbiased
// variance); dropout is tf.dropout (inverted). Loss: softmax cross-entropy, mean over the batch.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';

// tfjs-core's Node bundle registers no gradient functions (the @tensorflow/tfjs umbrella
// package normally does). Load them from tfjs-core's own ESM build; require() lets tsx
// resolve its extensionless imports. The registry and the engine live in globals, so the
// gradients land in the same engine the Node bundle uses.
createRequire(import.meta.url)('@tensorflow/tfjs-core/dist/register_all_gradients');

export interface TfMlpOptions {
  /** layer widths, input first and classes last: [784, 256, 128, 10] */
  sizes: number[];
  norm: 'none' | 'batch';
  dropout: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  seed: number;
}

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;

interface Hidden {
  w: tf.Variable;
  b: tf.Variable;
  gamma?: tf.Variable;
  beta?: tf.Variable;
  runMean?: tf.Variable;
  runVar?: tf.Variable;
}

export class TfMlp {
  private readonly layers: Hidden[] = [];
  private readonly trainable: tf.Variable[] = [];
  private readonly optimizer: tf.Optimizer;
  private stepCount = 0;

  constructor(readonly o: TfMlpOptions) {
    const { sizes } = o;
    for (let i = 0; i + 1 < sizes.length; i++) {
      const inF = sizes[i]!;
      const outF = sizes[i + 1]!;
      const hidden = i + 2 < sizes.length;
      const layer: Hidden = {
        w: tf.variable(tf.randomNormal([inF, outF], 0, Math.sqrt(2 / inF), 'float32', o.seed + i), true, `w${i}`),
        b: tf.variable(tf.zeros([outF]), true, `b${i}`),
      };
      this.trainable.push(layer.w, layer.b);
      if (hidden && o.norm === 'batch') {
        layer.gamma = tf.variable(tf.ones([outF]), true, `gamma${i}`);
        layer.beta = tf.variable(tf.zeros([outF]), true, `beta${i}`);
        layer.runMean = tf.variable(tf.zeros([outF]), false, `runMean${i}`);
        layer.runVar = tf.variable(tf.ones([outF]), false, `runVar${i}`);
        this.trainable.push(layer.gamma, layer.beta);
      }
      this.layers.push(layer);
    }
    this.optimizer = tf.train.adam(o.lr, o.beta1, o.beta2, o.eps);
  }

  get paramCount(): number {
    return this.trainable.reduce((s, v) => s + v.size, 0);
  }

  /** training-mode forward to the logits; the batch statistics of each BN layer are kept
   *  (outside the gradient tape's tidy) in `stats` for the running-average update */
  private logits(x: tf.Tensor2D, stats: Array<{ layer: Hidden; mean: tf.Tensor; variance: tf.Tensor }>): tf.Tensor2D {
    let h: tf.Tensor2D = x;
    const last = this.layers.length - 1;
    this.layers.forEach((l, i) => {
      h = tf.add(tf.matMul(h, l.w as tf.Tensor2D), l.b);
      if (i === last) return;
      if (l.gamma && l.beta) {
        const { mean, variance } = tf.moments(h, 0);
        stats.push({ layer: l, mean: tf.keep(mean), variance: tf.keep(variance) });
        const xhat = tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, BN_EPS)));
        h = tf.add(tf.mul(xhat, l.gamma), l.beta);
      }
      h = tf.relu(h);
      if (this.o.dropout > 0)
        h = tf.dropout(h, this.o.dropout, undefined, this.o.seed * 7919 + this.stepCount * 31 + i) as tf.Tensor2D;
    });
    return h;
  }

  /** One Adam step on a batch; returns the mean loss (read back, so the step has completed). */
  step(x: tf.Tensor2D, yOneHot: tf.Tensor2D): number {
    const stats: Array<{ layer: Hidden; mean: tf.Tensor; variance: tf.Tensor }> = [];
    const cost = this.optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(yOneHot, this.logits(x, stats)) as tf.Scalar,
      true,
      this.trainable,
    );
    const rows = x.shape[0];
    tf.tidy(() => {
      for (const { layer, mean, variance } of stats) {
        const unbiased = tf.mul(variance, rows / (rows - 1));
        layer.runMean!.assign(tf.add(tf.mul(layer.runMean!, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
        layer.runVar!.assign(tf.add(tf.mul(layer.runVar!, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
      }
    });
    for (const s of stats) tf.dispose([s.mean, s.variance]);
    this.stepCount++;
    const loss = cost!.dataSync()[0]!;
    cost!.dispose();
    return loss;
  }

  dispose(): void {
    for (const l of this.layers)
      tf.dispose([l.w, l.b, l.gamma, l.beta, l.runMean, l.runVar].filter((v): v is tf.Variable => !!v));
    this.optimizer.dispose();
  }
}

/** The data as per-batch tensors, created once (outside any timed loop): consecutive slices
 *  of `batch` rows, features and one-hot labels. A trailing partial batch is dropped. */
export function batchTensors(
  x: Float32Array,
  y: Int32Array,
  n: number,
  features: number,
  classes: number,
  batch: number,
): Array<{ x: tf.Tensor2D; y: tf.Tensor2D }> {
  const out: Array<{ x: tf.Tensor2D; y: tf.Tensor2D }> = [];
  for (let s = 0; s + batch <= n; s += batch) {
    const xs = tf.tensor2d(x.subarray(s * features, (s + batch) * features), [batch, features]);
    const ys = tf.tidy(
      () => tf.cast(tf.oneHot(tf.tensor1d(y.subarray(s, s + batch), 'int32'), classes), 'float32') as tf.Tensor2D,
    );
    out.push({ x: xs, y: ys });
  }
  return out;
}
