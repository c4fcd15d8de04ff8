// Learning-rate schedules: the LR of 0-based optimizer step `step`, with 10 steps per epoch
// and 100 steps in the run unless a test says otherwise. epoch = floor(step / 10).
import { describe, expect, it } from 'vitest';
import type { OptimizerConfig, ScheduleConfig } from '../../shared/config-types.js';
import { createOptimizer, lrAt, optimizerStep } from '../../shared/optim/index.js';

function cfg(schedule: Partial<ScheduleConfig>, lr = 0.1): OptimizerConfig {
  return {
    name: 'sgd',
    lr,
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
    schedule: { name: 'constant', stepSize: 1, gamma: 1, minLr: 0, warmupSteps: 0, ...schedule },
  };
}
const at = (c: OptimizerConfig, step: number, stepsPerEpoch = 10, totalSteps = 100): number =>
  lrAt(c, step, stepsPerEpoch, totalSteps);

describe('constant', () => {
  it('is lr at every step', () => {
    const c = cfg({ name: 'constant' });
    for (const s of [0, 1, 57, 99, 500]) expect(at(c, s)).toBe(0.1);
  });
});

describe('step: lr·gamma^floor(epoch / stepSize)', () => {
  const c = cfg({ name: 'step', stepSize: 2, gamma: 0.5 });
  it('holds lr for stepSize epochs, then multiplies by gamma', () => {
    expect(at(c, 0)).toBe(0.1); //  epoch 0
    expect(at(c, 19)).toBe(0.1); // epoch 1, last step
    expect(at(c, 20)).toBeCloseTo(0.05, 15); // epoch 2 → 0.1·0.5
    expect(at(c, 39)).toBeCloseTo(0.05, 15);
    expect(at(c, 40)).toBeCloseTo(0.025, 15); // epoch 4 → 0.1·0.5²
    expect(at(c, 65)).toBeCloseTo(0.0125, 15); // epoch 6 → 0.1·0.5³
  });
  it('counts epochs from stepsPerEpoch', () => {
    expect(at(c, 7, 3)).toBeCloseTo(0.05, 15); // step 7 with 3 steps per epoch is epoch 2
  });
});

describe('exponential: lr·gamma^epoch', () => {
  const c = cfg({ name: 'exponential', gamma: 0.9 });
  it('decays once per epoch, not per step', () => {
    expect(at(c, 0)).toBe(0.1);
    expect(at(c, 9)).toBe(0.1);
    expect(at(c, 10)).toBeCloseTo(0.09, 15);
    expect(at(c, 25)).toBeCloseTo(0.1 * 0.81, 15);
    expect(at(c, 99)).toBeCloseTo(0.1 * 0.9 ** 9, 15);
  });
});

describe('cosine: minLr + (lr - minLr)(1 + cos(π·step/totalSteps))/2, per step', () => {
  const c = cfg({ name: 'cosine', minLr: 0.01 });
  it('starts at lr, passes the midpoint halfway, ends at minLr', () => {
    expect(at(c, 0)).toBeCloseTo(0.1, 15);
    expect(at(c, 25)).toBeCloseTo(0.01 + (0.09 * (1 + Math.SQRT1_2)) / 2, 15); // cos(π/4) = √½
    expect(at(c, 50)).toBeCloseTo(0.055, 15); //                             cos(π/2) = 0
    expect(at(c, 75)).toBeCloseTo(0.01 + (0.09 * (1 - Math.SQRT1_2)) / 2, 15);
    expect(at(c, 100)).toBeCloseTo(0.01, 15);
  });
  it('moves every step, not every epoch, and stays at minLr after the run', () => {
    expect(at(c, 1)).toBeLessThan(at(c, 0));
    expect(at(c, 2)).toBeLessThan(at(c, 1));
    expect(at(c, 150)).toBeCloseTo(0.01, 15);
  });
});

describe('linear warmup: the rule times (step + 1)/warmupSteps while step < warmupSteps', () => {
  it('ramps lr/W, 2lr/W, …, lr and then hands over to the rule', () => {
    const c = cfg({ name: 'constant', warmupSteps: 4 });
    expect([0, 1, 2, 3, 4, 5].map((s) => at(c, s))).toEqual([0.025, 0.05, 0.07500000000000001, 0.1, 0.1, 0.1]);
    expect(at(c, 2)).toBeCloseTo(0.075, 15);
  });
  it('multiplies the scheduled value (here cosine) rather than replacing it', () => {
    const c = cfg({ name: 'cosine', minLr: 0, warmupSteps: 10 });
    const cosine = (s: number): number => (0.1 * (1 + Math.cos((Math.PI * s) / 100))) / 2;
    expect(at(c, 4)).toBeCloseTo(cosine(4) * 0.5, 15);
    expect(at(c, 10)).toBeCloseTo(cosine(10), 15);
  });
  it('is off when warmupSteps is 0', () => {
    expect(at(cfg({ name: 'constant', warmupSteps: 0 }), 0)).toBe(0.1);
  });
});

describe('the driver uses the schedule', () => {
  it("reports and applies the step's LR", () => {
    const c = cfg({ name: 'step', stepSize: 1, gamma: 0.5, warmupSteps: 2 });
    const opt = createOptimizer(c, 1);
    const p = new Float32Array(1);
    const lrs = [0, 1, 2, 3].map(
      (step) => optimizerStep(opt, c, p, Float32Array.from([1]), { step, stepsPerEpoch: 2, totalSteps: 4 }).lr,
    );
    // steps 0, 1: warmup ½·0.1, 1·0.1 (epoch 0); steps 2, 3: epoch 1 → 0.05
    expect(lrs).toEqual([0.05, 0.1, 0.05, 0.05]);
    expect(p[0]).toBeCloseTo(-0.25, 6); // θ = -Σ lr·1
  });
});
