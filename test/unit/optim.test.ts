// Every optimizer against worked numbers. The parameter is 3 values starting at 0 (so θ is
// the summed displacement and float32 storage keeps ~7 significant digits of every update),
// the gradients a fixed sequence of dyadic numbers (exact in float32). The expected values
// come from `reference` below: one element at a time, scalar float64 arithmetic, each
// optimizer written as its formula (PyTorch's torch.optim) — not the library's loop.
// Where implementations disagree (eps placement, AdaDelta's first step, Nesterov's first
// step, decoupled decay, NAdam's momentum schedule) the test pins the PyTorch answer.
import { describe, expect, it } from 'vitest';
import { OPTIMIZERS, type OptimizerConfig, type OptimizerName } from '../../shared/config-types.js';
import { UserError } from '../../shared/errors.js';
import {
  createOptimizer,
  loadOptimizerState,
  optimizerState,
  optimizerStep,
  type Optimizer,
  type OptimizerState,
} from '../../shared/optim/index.js';

const GRADS = [
  [0.5, -1.0, 2.0],
  [-0.25, 0.75, 1.5],
  [1.0, 0.5, -3.0],
];
const REL = 1e-6;

function cfg(over: Partial<OptimizerConfig>): Required<OptimizerConfig> {
  return {
    name: 'sgd',
    lr: 0.1,
    momentum: 0.9,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    alpha: 0.99,
    rho: 0.9,
    momentumDecay: 0.004,
    weightDecay: 0,
    decay: 'l2',
    clipNorm: 0,
    schedule: { name: 'constant', stepSize: 1, gamma: 1, minLr: 0, warmupSteps: 0 },
    ...over,
  };
}

/** θ after each step: the optimizer alone (no driver), parameters from θ0 (default 0). */
function run(c: OptimizerConfig, grads = GRADS, theta0?: number[]): number[][] {
  const opt = createOptimizer(c, grads[0]!.length);
  const p = new Float32Array(theta0 ?? grads[0]!.map(() => 0));
  return grads.map((g) => {
    opt.update(p, Float32Array.from(g), c.lr);
    return Array.from(p);
  });
}

/** θ after each step through the driver (weight decay, clipping, schedule). */
function runDriver(c: OptimizerConfig, theta0: number[], grads = GRADS): number[][] {
  const opt = createOptimizer(c, theta0.length);
  const p = Float32Array.from(theta0);
  return grads.map((g, step) => {
    optimizerStep(opt, c, p, Float32Array.from(g), { step, stepsPerEpoch: 10, totalSteps: 10 });
    return Array.from(p);
  });
}

/** Scalar float64 reference for one element: θ after each step, for gradients gs.
 *  decay: 'l2' adds λθ to g; 'decoupled' multiplies θ by (1 - lr·λ) first (AdamW). */
function reference(
  c: Required<OptimizerConfig>,
  gs: number[],
  theta0 = 0,
  decay: 'none' | 'l2' | 'decoupled' = 'none',
): number[] {
  const { lr, momentum: mu, eps, alpha, rho, beta1: b1, beta2: b2, momentumDecay: psi, weightDecay: lam } = c;
  let theta = theta0;
  let v = 0,
    G = 0,
    s = 0,
    u = 0,
    m = 0,
    muProduct = 1; // all state starts at zero (Π at 1)
  const out: number[] = [];
  gs.forEach((g0, k) => {
    const t = k + 1;
    let g = g0;
    if (decay === 'l2') g += lam * theta;
    if (decay === 'decoupled') theta *= 1 - lr * lam;
    switch (c.name) {
      case 'sgd':
        theta -= lr * g;
        break; // θ -= lr·g
      case 'momentum':
        v = mu * v + g;
        theta -= lr * v;
        break; // v = μv + g; θ -= lr·v
      case 'nesterov':
        v = mu * v + g;
        theta -= lr * (g + mu * v);
        break; // θ -= lr·(g + μv)
      case 'adagrad':
        G += g * g;
        theta -= (lr * g) / (Math.sqrt(G) + eps);
        break; // G += g²; θ -= lr·g/(√G + eps)
      case 'rmsprop':
        s = alpha * s + (1 - alpha) * g * g;
        theta -= (lr * g) / (Math.sqrt(s) + eps);
        break;
      case 'adadelta': {
        // s = ρs + (1-ρ)g²; Δ = √(u+eps)/√(s+eps)·g; u = ρu + (1-ρ)Δ²; θ -= lr·Δ
        s = rho * s + (1 - rho) * g * g;
        const d = (Math.sqrt(u + eps) / Math.sqrt(s + eps)) * g;
        u = rho * u + (1 - rho) * d * d;
        theta -= lr * d;
        break;
      }
      case 'adam':
      case 'adamw': {
        // m̂ = m/(1-β1^t); v̂ = v/(1-β2^t); θ -= lr·m̂/(√v̂ + eps)
        m = b1 * m + (1 - b1) * g;
        v = b2 * v + (1 - b2) * g * g;
        theta -= (lr * (m / (1 - b1 ** t))) / (Math.sqrt(v / (1 - b2 ** t)) + eps);
        break;
      }
      case 'nadam': {
        // torch.optim.NAdam's documented algorithm
        const muT = b1 * (1 - 0.5 * 0.96 ** (t * psi)); //        μ_t = β1(1 - ½·0.96^(tψ))
        const muNext = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi)); // μ_{t+1}
        muProduct *= muT; //                                             Π_t = Π μ_i
        m = b1 * m + (1 - b1) * g;
        v = b2 * v + (1 - b2) * g * g;
        const vHat = v / (1 - b2 ** t);
        // θ -= lr·(1-μ_t)·g/((1-Π_t)(√v̂+eps)) + lr·μ_{t+1}·m/((1-Π_t·μ_{t+1})(√v̂+eps))
        theta -= (lr * (1 - muT) * g) / ((1 - muProduct) * (Math.sqrt(vHat) + eps));
        theta -= (lr * muNext * m) / ((1 - muProduct * muNext) * (Math.sqrt(vHat) + eps));
        break;
      }
    }
    out.push(theta);
  });
  return out;
}

/** The reference for all elements: rows are steps, as `run` returns. */
function expected(
  c: Required<OptimizerConfig>,
  theta0?: number[],
  decay: 'none' | 'l2' | 'decoupled' = 'none',
  grads = GRADS,
): number[][] {
  const cols = grads[0]!.map((_, j) =>
    reference(
      c,
      grads.map((g) => g[j]!),
      theta0?.[j] ?? 0,
      decay,
    ),
  );
  return grads.map((_, k) => cols.map((col) => col[k]!));
}

/** |actual - want| ≤ rel·(the largest |θ| this element has had so far): θ is stored in float32,
 *  so where later steps cancel earlier ones only the running magnitude's precision is left. */
function expectClose(actual: number[][], want: number[][], rel = REL): void {
  const scale = want[0]!.map(() => 0);
  want.forEach((row, k) =>
    row.forEach((w, j) => {
      scale[j] = Math.max(scale[j]!, Math.abs(w));
      const a = actual[k]![j]!;
      expect(Math.abs(a - w), `step ${k + 1}, element ${j}: got ${a}, want ${w}`).toBeLessThanOrEqual(
        rel * scale[j]! + 1e-12,
      );
    }),
  );
}

describe('each optimizer matches its formula over 3 steps', () => {
  const cases: Array<[OptimizerName, Partial<OptimizerConfig>]> = [
    ['sgd', { lr: 0.1 }],
    ['momentum', { lr: 0.1, momentum: 0.9 }],
    ['nesterov', { lr: 0.1, momentum: 0.9 }],
    ['adagrad', { lr: 0.1, eps: 1e-10 }],
    ['rmsprop', { lr: 0.01, alpha: 0.99, eps: 1e-8 }],
    ['adadelta', { lr: 1, rho: 0.9, eps: 1e-6 }],
    ['adam', { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 }],
    ['adamw', { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 }],
    ['nadam', { lr: 0.002, beta1: 0.9, beta2: 0.999, eps: 1e-8, momentumDecay: 0.004 }],
  ];
  it('covers every optimizer name', () => {
    expect(cases.map(([n]) => n).sort()).toEqual([...OPTIMIZERS].sort());
  });
  for (const [name, over] of cases) {
    it(`${name} (PyTorch defaults for its hyperparameters)`, () => {
      const c = cfg({ name, ...over });
      expectClose(run(c), expected(c));
    });
  }
});

describe('worked numbers written out by hand', () => {
  it('sgd: θ -= 0.1·g', () => {
    // θ1 = -0.1·g1; θ2 = θ1 - 0.1·g2; θ3 = θ2 - 0.1·g3
    expectClose(run(cfg({ name: 'sgd', lr: 0.1 })), [
      [-0.05, 0.1, -0.2],
      [-0.025, 0.025, -0.35],
      [-0.125, -0.025, -0.05],
    ]);
  });

  it('momentum: the first step uses v = g (PyTorch), then v = 0.9v + g', () => {
    // v1 = g1 = (0.5, -1, 2)             θ1 = -0.1·v1 = (-0.05, 0.1, -0.2)
    // v2 = 0.9v1 + g2 = (0.2, -0.15, 3.3) θ2 = θ1 - 0.1·v2 = (-0.07, 0.115, -0.53)
    // v3 = 0.9v2 + g3 = (1.18, 0.365, -0.03) θ3 = (-0.188, 0.0785, -0.527)
    expectClose(run(cfg({ name: 'momentum' })), [
      [-0.05, 0.1, -0.2],
      [-0.07, 0.115, -0.53],
      [-0.188, 0.0785, -0.527],
    ]);
  });

  it("nesterov: θ -= lr·(g + μv) — PyTorch's form already differs from momentum at step 1", () => {
    // step 1: g + 0.9·v1 = 1.9·g1 → θ1 = (-0.095, 0.19, -0.38)          (momentum: -0.1·g1)
    // step 2: g2 + 0.9·v2 = (-0.07, 0.615, 4.47) → θ2 = (-0.088, 0.1285, -0.827)
    // step 3: g3 + 0.9·v3 = (2.062, 0.8285, -3.027) → θ3 = (-0.2942, 0.04565, -0.5243)
    const nes = run(cfg({ name: 'nesterov' }));
    expectClose(nes, [
      [-0.095, 0.19, -0.38],
      [-0.088, 0.1285, -0.827],
      [-0.2942, 0.04565, -0.5243],
    ]);
    const mom = run(cfg({ name: 'momentum' }));
    expect(nes[1]![2]! - nes[0]![2]!).not.toBeCloseTo(mom[1]![2]! - mom[0]![2]!, 3); // the step-2 moves differ too
  });

  it('adagrad: eps is added outside the square root', () => {
    // eps 0.1 is large enough that √G + eps ≠ √(G + eps). Step 1, G = g²:
    // θ1 = -0.1·g/(|g| + 0.1) = (-0.05/0.6, 0.1/1.1, -0.2/2.1)
    const c = cfg({ name: 'adagrad', lr: 0.1, eps: 0.1 });
    const got = run(c);
    expectClose([got[0]!], [[-0.05 / 0.6, 0.1 / 1.1, -0.2 / 2.1]]);
    expect(got[0]![0]).not.toBeCloseTo(-0.05 / Math.sqrt(0.25 + 0.1), 3); // the eps-inside-√ variant
    expectClose(got, expected(c));
  });

  it('rmsprop: step 1 moves 10·lr·sign(g) with α = 0.99', () => {
    // s1 = 0.01·g² → √s1 = 0.1·|g| → θ1 = -0.01·g/(0.1|g| + 1e-8) ≈ -0.1·sign(g)
    expectClose([run(cfg({ name: 'rmsprop', lr: 0.01 }))[0]!], [[-0.1, 0.1, -0.1]], 1e-6);
  });

  it('adadelta: the first step is √eps/√((1-ρ)g² + eps)·g, not lr·g', () => {
    // u0 = 0, s1 = 0.1·g²: Δ1 = √(1e-6)/√(0.1·g² + 1e-6)·g — about 0.00316·sign(g) at lr = 1
    const c = cfg({ name: 'adadelta', lr: 1, rho: 0.9, eps: 1e-6 });
    const got = run(c);
    const d1 = (g: number): number => (Math.sqrt(1e-6) / Math.sqrt(0.1 * g * g + 1e-6)) * g;
    expectClose([got[0]!], [[-d1(0.5), -d1(-1), -d1(2)]]);
    expect(Math.abs(got[0]![0]!)).toBeLessThan(0.004); // lr·g would be 0.5
    expectClose(got, expected(c));
  });

  it('adam: step 1 with eps = 1 is lr·g/(|g| + 1), not lr·sign(g)', () => {
    // m̂1 = g, v̂1 = g² → θ1 = -0.1·g/(|g| + 1) = (-0.05/1.5, 0.1/2, -0.2/3)
    const c = cfg({ name: 'adam', lr: 0.1, eps: 1 });
    const got = run(c);
    expectClose([got[0]!], [[-0.05 / 1.5, 0.1 / 2, -0.2 / 3]]);
    expectClose(got, expected(c));
  });

  it("nadam: step 1 from torch.optim.NAdam's documented algorithm", () => {
    // μ1 = 0.9(1 - ½·0.96^0.004), μ2 = 0.9(1 - ½·0.96^0.008), Π1 = μ1; m1 = 0.1g, v̂1 = g²:
    // θ1 = -lr·[(1-μ1)/(1-μ1) + 0.1·μ2/(1-μ1μ2)]·g/(|g| + eps) ≈ -lr·1.0564·sign(g)
    const lr = 0.002;
    const mu1 = 0.9 * (1 - 0.5 * 0.96 ** 0.004);
    const mu2 = 0.9 * (1 - 0.5 * 0.96 ** 0.008);
    const k = 1 + (0.1 * mu2) / (1 - mu1 * mu2);
    expect(k).toBeCloseTo(1.05645, 4);
    const got = run(cfg({ name: 'nadam', lr }));
    expectClose([got[0]!], [[0.5, -1, 2].map((g) => (-lr * k * g) / (Math.abs(g) + 1e-8))]);
    // not Adam: Adam's step 1 is exactly -lr·sign(g)
    expect(Math.abs(got[0]![0]!)).toBeGreaterThan(1.05 * lr);
  });
});

describe('driver: clipping by global norm', () => {
  it('scales a large gradient to the norm, like torch.nn.utils.clip_grad_norm_', () => {
    // g = (3, 4, 0): ‖g‖ = 5 > 1 → g·1/(5 + 1e-6); sgd lr 1 → θ = -g·1/(5 + 1e-6)
    const c = cfg({ name: 'sgd', lr: 1, clipNorm: 1 });
    const opt = createOptimizer(c, 3);
    const p = new Float32Array(3);
    const g = Float32Array.from([3, 4, 0]);
    const r = optimizerStep(opt, c, p, g, { step: 0, stepsPerEpoch: 1, totalSteps: 1 });
    expect(r.gradNorm).toBe(5); // the norm before clipping
    expect(r.lr).toBe(1);
    expectClose([Array.from(g)], [[3 / (5 + 1e-6), 4 / (5 + 1e-6), 0]]); // clipped in place
    expectClose([Array.from(p)], [[-3 / (5 + 1e-6), -4 / (5 + 1e-6), 0]]);
  });

  it('leaves a gradient under the norm unchanged, and clipNorm 0 means off', () => {
    for (const [clipNorm, g0] of [
      [1, [0.3, 0.4, 0]],
      [0, [30, 40, 0]],
    ] as const) {
      const c = cfg({ name: 'sgd', lr: 1, clipNorm });
      const g = Float32Array.from(g0);
      const r = optimizerStep(createOptimizer(c, 3), c, new Float32Array(3), g, {
        step: 0,
        stepsPerEpoch: 1,
        totalSteps: 1,
      });
      expect(Array.from(g)).toEqual(Array.from(Float32Array.from(g0)));
      expect(r.gradNorm).toBeCloseTo(clipNorm ? 0.5 : 50, 6);
    }
  });
});

describe('driver: weight decay', () => {
  const theta0 = [1, -2, 0.5];

  it('l2 adds λθ to the gradient; decoupled shrinks θ by (1 - lr·λ) first', () => {
    for (const name of ['sgd', 'momentum', 'adam', 'nadam'] as const) {
      for (const decay of ['l2', 'decoupled'] as const) {
        const c = cfg({ name, lr: 0.1, weightDecay: 0.1, decay });
        expectClose(runDriver(c, theta0), expected(c, theta0, decay));
      }
    }
  });

  it('for plain SGD the two are the same update: θ - lr·g - lr·λθ', () => {
    const l2 = runDriver(cfg({ name: 'sgd', weightDecay: 0.1, decay: 'l2' }), theta0);
    expectClose(runDriver(cfg({ name: 'sgd', weightDecay: 0.1, decay: 'decoupled' }), theta0), l2);
  });

  it('AdamW is not Adam with L2 at the same λ (Loshchilov & Hutter)', () => {
    const adamL2 = runDriver(cfg({ name: 'adam', lr: 0.1, weightDecay: 0.1, decay: 'l2' }), theta0);
    const adamW = runDriver(cfg({ name: 'adamw', lr: 0.1, weightDecay: 0.1, decay: 'decoupled' }), theta0);
    expectClose(adamL2, expected(cfg({ name: 'adam', lr: 0.1, weightDecay: 0.1 }), theta0, 'l2'));
    expectClose(adamW, expected(cfg({ name: 'adamw', lr: 0.1, weightDecay: 0.1 }), theta0, 'decoupled'));
    // step 1, element 0: Adam+L2 moves by lr·sign(g + λθ) = 0.1; AdamW by 0.1 + lr·λ·θ = 0.11
    expect(adamL2[0]![0]!).toBeCloseTo(1 - 0.1, 6);
    expect(adamW[0]![0]!).toBeCloseTo(1 * (1 - 0.01) - 0.1, 6);
  });

  it('adamw decouples even when the config says l2', () => {
    const c = cfg({ name: 'adamw', lr: 0.1, weightDecay: 0.1, decay: 'l2' });
    expectClose(runDriver(c, theta0), expected(c, theta0, 'decoupled'));
  });
});

describe('state: save, load, resume', () => {
  const c0 = { lr: 0.05, weightDecay: 0.01, clipNorm: 2.5 };

  for (const name of OPTIMIZERS) {
    it(`${name}: 2 steps, save, load into a fresh optimizer, step 3 is bit-identical`, () => {
      const c = cfg({ name, ...c0, lr: name === 'adadelta' ? 1 : c0.lr });
      const theta0 = [0.3, -0.7, 1.1];
      const ctx = (step: number) => ({ step, stepsPerEpoch: 2, totalSteps: 6 });

      const a = createOptimizer(c, 3);
      const pa = Float32Array.from(theta0);
      GRADS.forEach((g, k) => optimizerStep(a, c, pa, Float32Array.from(g), ctx(k)));

      const b = createOptimizer(c, 3);
      const pb = Float32Array.from(theta0);
      GRADS.slice(0, 2).forEach((g, k) => optimizerStep(b, c, pb, Float32Array.from(g), ctx(k)));
      const saved: OptimizerState = structuredClone(optimizerState(b));
      const pSaved = pb.slice();
      optimizerStep(b, c, pb, Float32Array.from(GRADS[2]!), ctx(2)); // the saved state is a copy
      expect(saved.t).toBe(2);

      const fresh = createOptimizer(c, 3);
      loadOptimizerState(fresh, saved);
      optimizerStep(fresh, c, pSaved, Float32Array.from(GRADS[2]!), ctx(2));
      expect(bytes(pSaved)).toEqual(bytes(pa));
      expect(fresh.t).toBe(3);
      for (const k of Object.keys(a.slots)) expect(bytes(fresh.slots[k]!)).toEqual(bytes(a.slots[k]!));
      expect(fresh.scalars).toEqual(a.scalars);
    });
  }

  it("keeps the slots PyTorch names, and nadam's mu_product as a float64 scalar", () => {
    const names = (n: OptimizerName): string[] => Object.keys(createOptimizer(cfg({ name: n }), 2).slots);
    expect(names('momentum')).toEqual(['momentum_buffer']);
    expect(names('adagrad')).toEqual(['sum']);
    expect(names('rmsprop')).toEqual(['square_avg']);
    expect(names('adadelta')).toEqual(['square_avg', 'acc_delta']);
    expect(names('adamw')).toEqual(['exp_avg', 'exp_avg_sq']);
    const n = createOptimizer(cfg({ name: 'nadam' }), 2);
    expect(n.scalars).toEqual({ mu_product: 1 });
    n.update(new Float32Array(2), Float32Array.from([1, 1]), 0.002);
    expect(n.scalars.mu_product).toBe(0.9 * (1 - 0.5 * 0.96 ** 0.004));
  });
});

describe('state validation', () => {
  function stateOf(name: OptimizerName, size: number): OptimizerState {
    const o = createOptimizer(cfg({ name }), size);
    o.update(new Float32Array(size), new Float32Array(size).fill(1), 0.1);
    return optimizerState(o);
  }
  function rejects(opt: Optimizer, s: OptimizerState, pattern: RegExp): void {
    let err: unknown;
    try {
      loadOptimizerState(opt, s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('CHECKPOINT_INVALID');
    expect((err as UserError).message).toMatch(pattern);
  }

  it('rejects a slot of the wrong length, naming the slot and both sizes', () => {
    rejects(
      createOptimizer(cfg({ name: 'adam' }), 4),
      stateOf('adam', 3),
      /slot "exp_avg" has 3 values; this model has 4 parameters/,
    );
  });
  it("rejects another optimizer's state", () => {
    rejects(
      createOptimizer(cfg({ name: 'adam' }), 3),
      stateOf('rmsprop', 3),
      /is for "rmsprop", but this run uses adam/,
    );
  });
  it('rejects a missing slot, a missing scalar, and a bad step count', () => {
    const s = stateOf('nadam', 3);
    const opt = createOptimizer(cfg({ name: 'nadam' }), 3);
    rejects(opt, { ...s, slots: { exp_avg: s.slots.exp_avg! } }, /lacks the float32 slot "exp_avg_sq"/);
    rejects(opt, { ...s, scalars: {} }, /lacks the finite scalar "mu_product"/);
    rejects(opt, { ...s, t: -1 }, /step count t = -1/);
    expect(opt.t).toBe(0); // nothing was loaded
  });
  it('rejects invalid hyperparameters at construction, naming the key', () => {
    expect(() => createOptimizer(cfg({ name: 'adam', beta1: 1 }), 3)).toThrow(
      /optimizer\.beta1 is 1; it must be in \[0, 1\)/,
    );
    expect(() => createOptimizer(cfg({ name: 'sgd', lr: -1 }), 3)).toThrow(/optimizer\.lr is -1/);
  });
});

function bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
