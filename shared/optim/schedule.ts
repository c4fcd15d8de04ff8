// Learning-rate schedules: the LR of optimizer step `step` (0-based, the step about to run).
// epoch = floor(step / stepsPerEpoch), the 0-based epoch the step belongs to.
//
//   constant     lr
//   step         lr · gamma^floor(epoch / stepSize)           (PyTorch StepLR, stepped per epoch)
//   exponential  lr · gamma^epoch                             (PyTorch ExponentialLR, per epoch)
//   cosine       minLr + (lr - minLr)·(1 + cos(π·s/totalSteps))/2, s = min(step, totalSteps)
//                (PyTorch CosineAnnealingLR with T_max = totalSteps, eta_min = minLr, stepped
//                per optimizer step; held at minLr past the end instead of rising again)
//   warmup       if warmupSteps > 0 and step < warmupSteps, the rule's value times
//                (step + 1)/warmupSteps: lr/W, 2·lr/W, …, lr (PyTorch LinearLR-like, from
//                1/W to 1), then the rule alone. Warmup multiplies; it does not shift the rule.
import type { OptimizerConfig } from '../config-types.js';

export function lrAt(cfg: OptimizerConfig, step: number, stepsPerEpoch: number, totalSteps: number): number {
  const s = cfg.schedule;
  // a resolved config records the keys its schedule uses (shared/config.ts SCHEDULE_KEYS)
  const need = (v: number | undefined, key: string): number => {
    if (v === undefined) throw new Error(`lrAt: the ${s.name} schedule needs optimizer.schedule.${key}`);
    return v;
  };
  const epoch = Math.floor(step / Math.max(1, stepsPerEpoch));
  let lr: number;
  switch (s.name) {
    case 'constant':
      lr = cfg.lr;
      break;
    case 'step':
      lr = cfg.lr * need(s.gamma, 'gamma') ** Math.floor(epoch / Math.max(1, need(s.stepSize, 'stepSize')));
      break;
    case 'exponential':
      lr = cfg.lr * need(s.gamma, 'gamma') ** epoch;
      break;
    case 'cosine': {
      const T = Math.max(1, totalSteps);
      const progress = Math.min(step, T) / T;
      const minLr = need(s.minLr, 'minLr');
      lr = minLr + ((cfg.lr - minLr) * (1 + Math.cos(Math.PI * progress))) / 2;
      break;
    }
    default: {
      const never: never = s.name;
      throw new Error(`unknown schedule ${String(never)}`);
    }
  }
  if (s.warmupSteps > 0 && step < s.warmupSteps) lr *= (step + 1) / s.warmupSteps;
  return lr;
}
