// ASHA with seeds (SeedRungs): a rung compares configuration MEANS over the K seed runs, reported
// when the last seed run reaches the rung; seed runs never wait for each other (one that reaches
// a rung first continues, and stops at its next epoch boundary once the decision is 'stop').
// Hand-made values, worked by hand in the comments.
import { describe, expect, it } from 'vitest';
import { Asha, SeedRungs } from '../../shared/sweep/asha.js';

const pt = (value: number) => ({ value, valAccuracy: value });

describe('SeedRungs', () => {
  it('decides on the mean of the seed runs, when the last one reaches the rung', () => {
    // rungs at epochs 1 and 2 (of 4), keep the top 1/2; 2 seeds
    const r = new SeedRungs(new Asha(1, 2, 4, 'maximize'), 2);
    // trial 0: seed 0 reaches rung 1 first (0.9), keeps going to epoch 2 without a decision
    expect(r.report(0, 0, 1, pt(0.9))).toBe('continue');
    expect(r.report(0, 0, 2, pt(0.9))).toBe('continue');
    expect(r.stoppedAt(0)).toBeNull();
    // its seed 1 completes rung 1: mean (0.9 + 0.7) / 2 = 0.8, alone at the rung: continue
    expect(r.report(0, 1, 1, pt(0.7))).toBe('continue');
    expect(r.mean(0, 1)).toEqual({ value: (0.9 + 0.7) / 2, valAccuracy: (0.9 + 0.7) / 2 });
    // trial 1: seed 0 has the best single value (0.95) but the mean is (0.95 + 0.45) / 2 = 0.7
    // < 0.8: of 2 at the rung, ⌈2/2⌉ = 1 continues, and trial 0's mean outranks it: stop
    expect(r.report(1, 0, 1, pt(0.95))).toBe('continue');
    expect(r.report(1, 1, 1, pt(0.45))).toBe('stop');
    expect(r.stoppedAt(1)).toBe(1);
    expect(r.mean(1, 1)?.value).toBeCloseTo(0.7, 15);
    expect(r.points(1, 1)).toEqual([pt(0.95), pt(0.45)]);
    // trial 1's seed 0 went on to epoch 2 meanwhile: it stops at that epoch boundary
    expect(r.report(1, 0, 2, pt(0.96))).toBe('stop');
    // and the stopped trial's rungs do not change any more
    expect(r.mean(1, 2)).toBeNull();
    // trial 2: seed 1 first (0.85), then seed 0 (0.85): mean 0.85, best of 3, ⌈3/2⌉ = 2 continue
    expect(r.report(2, 1, 1, pt(0.85))).toBe('continue');
    expect(r.report(2, 0, 1, pt(0.85))).toBe('continue');
    // rung 2: trial 0's seed 0 reported 0.9 earlier; seed 1 brings 0.6: mean 0.75 (alone: continue)
    expect(r.report(0, 1, 2, pt(0.6))).toBe('continue');
    expect(r.mean(0, 2)?.value).toBeCloseTo(0.75, 15);
    // trial 2 at rung 2: 0.7 and 0.7, mean 0.7 < 0.75: of 2, 1 continues: stop
    expect(r.report(2, 0, 2, pt(0.7))).toBe('continue');
    expect(r.report(2, 1, 2, pt(0.7))).toBe('stop');
    expect(r.stoppedAt(2)).toBe(2);
    // epochs that are not rungs continue, whatever the value
    expect(r.report(0, 0, 3, pt(0))).toBe('continue');
  });

  it('never makes a seed run wait: with fewer seats than seeds each continues until the rung is complete', () => {
    const r = new SeedRungs(new Asha(1, 3, 9, 'minimize'), 3);
    // seeds 0 and 1 run to the end (9 epochs) before seed 2 starts: no decision holds them
    for (const s of [0, 1]) for (let e = 1; e <= 9; e++) expect(r.report(0, s, e, pt(1 / e))).toBe('continue');
    expect(r.mean(0, 1)).toBeNull();
    expect(r.report(0, 2, 1, pt(1))).toBe('continue'); // first at rung 1: continue
    expect(r.mean(0, 1)).toEqual({ value: 1, valAccuracy: 1 });
  });

  it('a non-finite seed value makes the mean the worst', () => {
    const r = new SeedRungs(new Asha(1, 2, 4, 'minimize'), 2);
    r.report(0, 0, 1, pt(2));
    r.report(0, 1, 1, pt(2)); // mean 2
    r.report(1, 0, 1, pt(0.1));
    expect(r.report(1, 1, 1, pt(Number.NaN))).toBe('stop'); // mean NaN: worst of 2, 1 continues
  });

  it('with one seed it is ASHA itself (seeds: 1 sweeps decide as before)', () => {
    let state = 12345;
    const rand = (): number => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
    const plain = new Asha(1, 3, 27, 'maximize');
    const seeded = new SeedRungs(new Asha(1, 3, 27, 'maximize'), 1);
    for (let i = 0; i < 400; i++) {
      const trial = Math.floor(rand() * 30);
      const epoch = 1 + Math.floor(rand() * 26);
      const v = rand();
      if (seeded.stoppedAt(trial) !== null) continue; // a stopped trial reports no more
      expect(seeded.report(trial, 0, epoch, pt(v))).toBe(plain.report(trial, epoch, v));
    }
  });

  it('a seed run reporting a rung again (a resumed sweep replaying) replaces its value', () => {
    const r = new SeedRungs(new Asha(1, 2, 4, 'maximize'), 2);
    r.report(0, 0, 1, pt(0.2));
    r.report(0, 0, 1, pt(0.4));
    r.report(0, 1, 1, pt(0.6));
    expect(r.mean(0, 1)?.value).toBeCloseTo(0.5, 15);
  });
});
