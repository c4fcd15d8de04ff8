// The one place that turns a mean gradient into an update, in PyTorch's order:
//   1. lr = lrAt(schedule, step)
//   2. gradNorm = √Σg² (float64, before clipping); if clipNorm > 0 and gradNorm > clipNorm,
//      g *= clipNorm/(gradNorm + 1e-6)   (torch.nn.utils.clip_grad_norm_)
//   3. weight decay λ = weightDecay:
//        'l2'        g += λθ                 (torch.optim's weight_decay: part of the gradient,
//                                             so adaptive optimizers rescale it)
//        'decoupled' θ *= 1 - lr·λ           (Loshchilov & Hutter, AdamW; untouched by m, v)
//      adamw is always decoupled — AdamW *is* Adam plus decoupled decay; with L2 it would be Adam
//      (the config refuses adamw with decay: l2, and records adamw's decay as decoupled).
//   4. opt.update(θ, g, lr)
// Also the optimizer's serializable state for checkpoints, and its validated restore.
import type { OptimizerConfig } from '../config-types.js';
import { UserError } from '../errors.js';
import { JS_KERNELS } from '../kernels/js.js';
import type { Kernels } from '../kernels/kernels.js';
import { SCALAR_INITS, SLOT_NAMES, type Optimizer } from './optimizers.js';
import { lrAt } from './schedule.js';

export interface StepContext {
  /** 0-based optimizer step about to run */
  step: number;
  stepsPerEpoch: number;
  totalSteps: number;
}

export interface OptimizerState {
  name: string;
  t: number;
  slots: Record<string, Float32Array>;
  scalars: Record<string, number>;
}

/** The decay rule in effect: the config's, except that adamw always decouples. */
export function decayMode(cfg: OptimizerConfig): 'l2' | 'decoupled' {
  return cfg.name === 'adamw' ? 'decoupled' : cfg.decay;
}

/** √Σg², accumulated in float64. */
export function globalNorm(g: Float32Array, k: Kernels = JS_KERNELS): number {
  return Math.sqrt(k.sumSquares(g, g.length));
}

/** One optimizer step. `grads` (the mean gradient) is clipped and decayed in place. */
export function optimizerStep(
  opt: Optimizer,
  cfg: OptimizerConfig,
  params: Float32Array,
  grads: Float32Array,
  ctx: StepContext,
): { lr: number; gradNorm: number } {
  const lr = lrAt(cfg, ctx.step, ctx.stepsPerEpoch, ctx.totalSteps);
  const gradNorm = globalNorm(grads, opt.kernels.owns(grads) ? opt.kernels : JS_KERNELS);
  if (cfg.clipNorm > 0 && gradNorm > cfg.clipNorm) {
    const scale = cfg.clipNorm / (gradNorm + 1e-6);
    for (let i = 0; i < grads.length; i++) grads[i] = grads[i]! * scale;
  }
  const lambda = cfg.weightDecay;
  if (lambda !== 0) {
    if (decayMode(cfg) === 'l2') {
      for (let i = 0; i < grads.length; i++) grads[i] = grads[i]! + lambda * params[i]!;
    } else {
      const keep = 1 - lr * lambda;
      for (let i = 0; i < params.length; i++) params[i] = params[i]! * keep;
    }
  }
  opt.update(params, grads, lr);
  return { lr, gradNorm };
}

/** A copy of the optimizer's state (typed arrays stay typed: msgpackr and structuredClone keep them). */
export function optimizerState(opt: Optimizer): OptimizerState {
  const slots: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(opt.slots)) slots[k] = v.slice();
  return { name: opt.name, t: opt.t, slots, scalars: { ...opt.scalars } };
}

/** Restore a saved state into `opt`, which must be the same optimizer over the same size. */
export function loadOptimizerState(opt: Optimizer, state: OptimizerState): void {
  const bad = (why: string): never => {
    throw new UserError('CHECKPOINT_INVALID', `the checkpoint's optimizer state ${why}`);
  };
  if (state === null || typeof state !== 'object') bad('is missing');
  if (state.name !== opt.name) {
    bad(`is for ${JSON.stringify(state.name)}, but this run uses ${opt.name}; resume with the same optimizer.name`);
  }
  if (!Number.isSafeInteger(state.t) || state.t < 0)
    bad(`has step count t = ${String(state.t)}; it must be an integer ≥ 0`);
  const slots = state.slots ?? {};
  const scalars = state.scalars ?? {};
  const size = Object.values(opt.slots)[0]?.length ?? 0;
  const names = SLOT_NAMES[opt.name];
  for (const k of Object.keys(slots)) {
    if (!names.includes(k))
      bad(`has a slot "${k}" that ${opt.name} does not keep (it keeps: ${names.join(', ') || 'none'})`);
  }
  for (const k of names) {
    const s = slots[k];
    if (!(s instanceof Float32Array)) bad(`lacks the float32 slot "${k}" that ${opt.name} needs`);
    else if (s.length !== size) bad(`slot "${k}" has ${s.length} values; this model has ${size} parameters`);
  }
  for (const k of Object.keys(SCALAR_INITS[opt.name])) {
    const x = scalars[k];
    if (typeof x !== 'number' || !Number.isFinite(x)) bad(`lacks the finite scalar "${k}" that ${opt.name} needs`);
  }
  for (const k of names) opt.slots[k]!.set(slots[k]!);
  for (const k of Object.keys(SCALAR_INITS[opt.name])) opt.scalars[k] = scalars[k]!;
  opt.t = state.t;
}
