// Every layer's backward pass against central finite differences of its forward pass.
// L = Σ c·y for a fixed random c, so ∂L/∂y = c; the analytic gradients must match
// (L(θ+h) - L(θ-h)) / 2h. Tolerance: 2% relative + 2e-3 absolute — float32 forward passes
// limit the precision, and a wrong sign, a missing factor 2 or a dropped term is far outside.
import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, type ActivationName } from '../../shared/config-types.js';
import { lossForward } from '../../shared/nn/loss.js';
import { Dense } from '../../shared/nn/dense.js';
import { Activation, Dropout } from '../../shared/nn/elementwise.js';
import type { Layer, PassContext } from '../../shared/nn/layer.js';
import { BatchNorm, GroupwiseNorm } from '../../shared/nn/norms.js';
import { Rng } from '../../shared/rng.js';

const H = 1e-2;

function randn(n: number, rng: Rng, scale = 1, avoidZero = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = scale * rng.normal();
    if (avoidZero > 0 && Math.abs(v) < avoidZero) v = v < 0 ? v - avoidZero : v + avoidZero;
    a[i] = v;
  }
  return a;
}

function expectClose(analytic: number, numeric: number, what: string): void {
  const tol = 2e-2 * Math.max(Math.abs(analytic), Math.abs(numeric)) + 2e-3;
  if (Math.abs(analytic - numeric) > tol) {
    throw new Error(`${what}: analytic ${analytic} vs finite difference ${numeric}`);
  }
}

/** Bind a standalone layer to its own parameter/buffer arrays and initialize it. */
function standalone<T extends Layer>(layer: T, seed = 1, perturbAffine = true): T {
  const params = new Float32Array(layer.paramSize);
  const buffers = new Float32Array(layer.bufferSize);
  layer.bind(params, buffers);
  layer.reset(seed);
  if (perturbAffine && layer.kind !== 'dense') {
    // move γ, β away from 1, 0 so that their gradients are exercised
    const rng = new Rng(seed, 'affine');
    for (let i = 0; i < params.length; i++) params[i] = params[i]! + 0.5 * rng.normal();
  }
  return layer;
}

function checkLayer(
  layer: Layer,
  rows: number,
  opts: { training?: boolean; inputScale?: number; avoidZero?: number } = {},
): void {
  const rng = new Rng(7, 'gradcheck', layer.kind);
  const x = randn(rows * layer.inF, rng, opts.inputScale ?? 1, opts.avoidZero ?? 0);
  const c = randn(rows * layer.outF, rng);
  const ctx: PassContext = {
    training: opts.training ?? true,
    seed: 3,
    step: 5,
    samples: Int32Array.from({ length: rows }, (_, i) => 100 + i),
  };
  const cache = layer.newCache(rows);
  const L = (): number => {
    layer.forward(x, rows, cache, ctx);
    let s = 0;
    for (let i = 0; i < c.length; i++) s += c[i]! * cache.out[i]!;
    return s;
  };
  L();
  const grads = new Float32Array(layer.paramSize);
  layer.paramOffset = 0;
  layer.backward(x, c, rows, cache, grads, true);
  const dx = cache.dx.slice();

  for (let i = 0; i < x.length; i += Math.max(1, Math.floor(x.length / 24))) {
    const v = x[i]!;
    x[i] = v + H;
    const lp = L();
    x[i] = v - H;
    const lm = L();
    x[i] = v;
    expectClose(dx[i]!, (lp - lm) / (2 * H), `${layer.kind} ∂L/∂x[${i}]`);
  }
  const p = layer.params;
  for (let i = 0; i < p.length; i += Math.max(1, Math.floor(p.length / 24))) {
    const v = p[i]!;
    p[i] = v + H;
    const lp = L();
    p[i] = v - H;
    const lm = L();
    p[i] = v;
    expectClose(grads[i]!, (lp - lm) / (2 * H), `${layer.kind} ∂L/∂θ[${i}]`);
  }
}

describe('finite-difference gradient checks', () => {
  it('Dense: input, weight and bias gradients', () => {
    checkLayer(standalone(new Dense(7, 5, 'xavier_normal')), 4);
  });

  it.each(ACTIVATIONS.map((a) => [a]))('activation %s', (name) => {
    // inputs kept 0.1 away from 0 so relu-like kinks are not straddled by ±h
    checkLayer(standalone(new Activation(6, name as ActivationName)), 3, { inputScale: 1.5, avoidZero: 0.1 });
  });

  it('BatchNorm in training mode, through the batch mean and variance', () => {
    checkLayer(standalone(new BatchNorm(5)), 6);
  });

  it('BatchNorm in eval mode (running statistics are constants)', () => {
    const bn = standalone(new BatchNorm(4));
    bn.buffers.set([0.3, -0.2, 0.1, 0.5, 1.5, 0.7, 2.0, 0.9]);
    checkLayer(bn, 3, { training: false });
  });

  it('LayerNorm', () => {
    checkLayer(standalone(new GroupwiseNorm('layernorm', 6, 1, 6)), 3);
  });

  it('GroupNorm(3)', () => {
    checkLayer(standalone(new GroupwiseNorm('groupnorm', 12, 3, 12)), 3);
  });

  it('InstanceNorm(2): γ and β per channel', () => {
    checkLayer(standalone(new GroupwiseNorm('instancenorm', 8, 2, 2)), 3);
  });

  it('Dropout with a fixed mask (same seed, step and samples), both scaling modes', () => {
    checkLayer(standalone(new Dropout(10, 0.3, 'inverted')), 4);
    checkLayer(standalone(new Dropout(10, 0.3, 'scale_at_test')), 4);
  });
});

describe('loss gradients against finite differences', () => {
  it.each([['cross_entropy'], ['mse']] as const)('%s', (name) => {
    const rng = new Rng(9, 'loss');
    const rows = 3,
      classes = 4;
    const z = randn(rows * classes, rng, 2);
    const labels = Int32Array.from([0, 3, 1]);
    const dz = new Float32Array(z.length);
    lossForward(name, z, labels, rows, classes, dz);
    for (let i = 0; i < z.length; i++) {
      const v = z[i]!;
      z[i] = v + H;
      const lp = lossForward(name, z, labels, rows, classes, null).lossSum;
      z[i] = v - H;
      const lm = lossForward(name, z, labels, rows, classes, null).lossSum;
      z[i] = v;
      expectClose(dz[i]!, (lp - lm) / (2 * H), `${name} ∂ℓ/∂z[${i}]`);
    }
  });

  it('cross-entropy is stable for huge logits and equals the hand-computed value', () => {
    const z = Float32Array.from([1000, 0, -1000]);
    const r = lossForward('cross_entropy', z, Int32Array.from([1]), 1, 3, null);
    expect(r.lossSum).toBeCloseTo(1000, 6); // log(e^1000 + 1 + e^-1000) - 0 = 1000 + log(1 + e^-1000 + …)
    const small = lossForward('cross_entropy', Float32Array.from([1, 2, 3]), Int32Array.from([2]), 1, 3, null);
    expect(small.lossSum).toBeCloseTo(Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3, 6);
  });

  it('MSE is the mean over outputs of the squared error against the one-hot target', () => {
    // z = [0.5, 0.5], y = 0 → ((0.5-1)² + 0.5²)/2 = 0.25; ∂/∂z = 2(z - t)/2 = [-0.5, 0.5]
    const dz = new Float32Array(2);
    const r = lossForward('mse', Float32Array.from([0.5, 0.5]), Int32Array.from([0]), 1, 2, dz);
    expect(r.lossSum).toBeCloseTo(0.25, 7);
    expect(Array.from(dz)).toEqual([-0.5, 0.5]);
  });
});
