// Optimizers over one flat parameter vector, sorted in order of increasing complexity (as
// tinygrad's optim.py). Each one is its formula and nothing else; its state lives in named
// Float32Array slots of the parameter vector's size (TF.js style), plus named float64 scalars
// where a running product must not be rounded (NAdam's mu_product). Weight decay, clipping
// and the learning-rate schedule belong to the driver (driver.ts), not to an optimizer.
//
// Semantics are PyTorch's torch.optim (defaults come from the resolved config):
//   sgd       θ -= lr·g
//   momentum  v = μv + g; θ -= lr·v                 (first step v = g: the buffer starts at 0)
//   nesterov  v = μv + g; θ -= lr·(g + μv)          (so step 1 already moves by lr·(1+μ)·g)
//   adagrad   G += g²; θ -= lr·g/(√G + eps)         (initial accumulator 0, eps outside √)
//   rmsprop   s = αs + (1-α)g²; θ -= lr·g/(√s + eps)
//   adadelta  s = ρs + (1-ρ)g²; Δ = √(u+eps)/√(s+eps)·g; u = ρu + (1-ρ)Δ²; θ -= lr·Δ
//   adam      m = β1m + (1-β1)g; v = β2v + (1-β2)g²; m̂ = m/(1-β1^t); v̂ = v/(1-β2^t);
//             θ -= lr·m̂/(√v̂ + eps)           (adamw: the same update; decay is the driver's)
//   nadam     torch.optim.NAdam (Dozat 2016 with PyTorch's momentum schedule, ψ = momentumDecay):
//             μ_t = β1(1 - ½·0.96^(tψ)), μ_{t+1} = β1(1 - ½·0.96^((t+1)ψ)), Π_t = Π_{t-1}·μ_t (Π_0 = 1);
//             m, v as Adam; denom = √(v/(1-β2^t)) + eps;
//             θ -= lr·(1-μ_t)/(1-Π_t)·g/denom + lr·μ_{t+1}/(1-Π_t·μ_{t+1})·m/denom
// Arithmetic is float64 per element; the slots and the parameters store float32. The
// per-element loops are the kernels' (shared/kernels: js.ts and the wasm-simd variant, bit-identical).
import type { OptimizerConfig, OptimizerName } from '../config-types.js';
import { UserError } from '../errors.js';
import { JS_KERNELS } from '../kernels/js.js';
import type { Kernels, UpdateRule, UpdateScalars } from '../kernels/kernels.js';

export interface Optimizer {
  readonly name: OptimizerName;
  /** per-parameter state, each a Float32Array of the parameter count */
  readonly slots: Record<string, Float32Array>;
  /** scalar state kept in float64 (nadam: mu_product); empty for the others */
  readonly scalars: Record<string, number>;
  /** updates applied so far; the update being applied is number t (1-based, as PyTorch's step) */
  t: number;
  /** the kernels the update runs in (the model's; its slots are in their memory) */
  readonly kernels: Kernels;
  /** One update in place: `grads` is the final gradient (after clipping and L2 decay). */
  update(params: Float32Array, grads: Float32Array, lr: number): void;
}

/** The state slots each optimizer keeps (PyTorch's state names). */
export const SLOT_NAMES: Record<OptimizerName, readonly string[]> = {
  sgd: [],
  momentum: ['momentum_buffer'],
  nesterov: ['momentum_buffer'],
  adagrad: ['sum'],
  rmsprop: ['square_avg'],
  adadelta: ['square_avg', 'acc_delta'],
  adam: ['exp_avg', 'exp_avg_sq'],
  adamw: ['exp_avg', 'exp_avg_sq'],
  nadam: ['exp_avg', 'exp_avg_sq'],
};

/** The float64 scalars each optimizer keeps, with their initial values. */
export const SCALAR_INITS: Record<OptimizerName, Readonly<Record<string, number>>> = {
  sgd: {},
  momentum: {},
  nesterov: {},
  adagrad: {},
  rmsprop: {},
  adadelta: {},
  adam: {},
  adamw: {},
  nadam: { mu_product: 1 },
};

/** The kernel rule of each optimizer (adamw is adam: its decay is the driver's). */
const RULES: Record<OptimizerName, UpdateRule> = {
  sgd: 'sgd',
  momentum: 'momentum',
  nesterov: 'nesterov',
  adagrad: 'adagrad',
  rmsprop: 'rmsprop',
  adadelta: 'adadelta',
  adam: 'adam',
  adamw: 'adam',
  nadam: 'nadam',
};

/** The per-step scalars of update number t (bias corrections; NAdam's momentum schedule,
 *  which advances its mu_product). */
function stepScalars(o: Optimizer, cfg: OptimizerConfig, lr: number): UpdateScalars {
  // a hyperparameter the optimizer does not use is absent from its config (0 here: its rule
  // never reads it); the ones it uses were checked by validate()
  const { beta1: b1 = 0, beta2: b2 = 0, eps = 0, momentumDecay: psi = 0 } = cfg;
  const t = o.t;
  const k: UpdateScalars = {
    lr,
    momentum: cfg.momentum ?? 0,
    beta1: b1,
    beta2: b2,
    eps,
    alpha: cfg.alpha ?? 0,
    rho: cfg.rho ?? 0,
    bc1: 1 - b1 ** t,
    bc2: 1 - b2 ** t,
    cGrad: 0,
    cAvg: 0,
  };
  if (o.name === 'nadam') {
    const mu = b1 * (1 - 0.5 * 0.96 ** (t * psi));
    const muNext = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi));
    const muProduct = o.scalars.mu_product! * mu;
    o.scalars.mu_product = muProduct;
    k.cGrad = (lr * (1 - mu)) / (1 - muProduct);
    k.cAvg = (lr * muNext) / (1 - muProduct * muNext);
  }
  return k;
}

/** Which hyperparameters each optimizer reads, with the range each must lie in. */
const CHECKS: Record<
  OptimizerName,
  ReadonlyArray<['momentum' | 'beta1' | 'beta2' | 'eps' | 'alpha' | 'rho' | 'momentumDecay', 'unit' | 'nonneg']>
> = {
  sgd: [],
  momentum: [['momentum', 'nonneg']],
  nesterov: [['momentum', 'nonneg']],
  adagrad: [['eps', 'nonneg']],
  rmsprop: [
    ['alpha', 'unit'],
    ['eps', 'nonneg'],
  ],
  adadelta: [
    ['rho', 'unit'],
    ['eps', 'nonneg'],
  ],
  adam: [
    ['beta1', 'unit'],
    ['beta2', 'unit'],
    ['eps', 'nonneg'],
  ],
  adamw: [
    ['beta1', 'unit'],
    ['beta2', 'unit'],
    ['eps', 'nonneg'],
  ],
  nadam: [
    ['beta1', 'unit'],
    ['beta2', 'unit'],
    ['eps', 'nonneg'],
    ['momentumDecay', 'nonneg'],
  ],
};

function validate(cfg: OptimizerConfig): void {
  const bad = (key: string, value: unknown, allowed: string): never => {
    throw new UserError(
      'CONFIG_INVALID',
      `optimizer.${key} is ${String(value)}; it must be ${allowed} for ${cfg.name}`,
    );
  };
  if (!(cfg.name in RULES)) {
    throw new UserError(
      'CONFIG_INVALID',
      `optimizer.name is ${JSON.stringify(cfg.name)}; allowed: ${Object.keys(RULES).join(', ')}`,
    );
  }
  if (!(Number.isFinite(cfg.lr) && cfg.lr >= 0)) bad('lr', cfg.lr, 'a finite number ≥ 0');
  for (const [key, range] of CHECKS[cfg.name]) {
    const x = cfg[key];
    if (x === undefined) {
      throw new UserError('CONFIG_INVALID', `optimizer.${key} is missing; ${cfg.name} uses it`);
    }
    if (range === 'unit' && !(Number.isFinite(x) && x >= 0 && x < 1)) bad(key, x, 'in [0, 1)');
    if (range === 'nonneg' && !(Number.isFinite(x) && x >= 0)) bad(key, x, 'a finite number ≥ 0');
  }
}

/** A fresh optimizer (zeroed slots, t = 0) for a flat parameter vector of `size` values,
 *  updating through the kernels `k` (the model's: its slots live in their memory). */
export function createOptimizer(cfg: OptimizerConfig, size: number, k: Kernels = JS_KERNELS): Optimizer {
  validate(cfg);
  if (!Number.isInteger(size) || size < 0) throw new Error(`createOptimizer: size must be an integer ≥ 0, got ${size}`);
  const rule = RULES[cfg.name];
  const slots: Record<string, Float32Array> = {};
  for (const s of SLOT_NAMES[cfg.name]) slots[s] = k.alloc(size);
  const [s1, s2] = SLOT_NAMES[cfg.name].map((n) => slots[n]!);
  const opt: Optimizer = {
    name: cfg.name,
    kernels: k,
    slots,
    scalars: { ...SCALAR_INITS[cfg.name] },
    t: 0,
    update(params, grads, lr) {
      if (params.length !== size || grads.length !== size) {
        throw new Error(
          `${cfg.name}.update: expected ${size} parameters and gradients, got ${params.length} and ${grads.length}`,
        );
      }
      opt.t++;
      k.update(rule, params, grads, s1 ?? params, s2 ?? params, size, stepScalars(opt, cfg, lr));
    },
  };
  return opt;
}
