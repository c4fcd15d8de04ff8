// ASHA, the stopping variant: its decisions must equal those of a plain sequential simulation
// of the rule (written again here, differently: sort the rung's values and compare with the
// k-th best) on random streams of results, including ties, both goals and a restored state.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../shared/rng.js';
import { Asha } from '../../shared/sweep/asha.js';

/** the rule, straightforwardly: rung epochs minEpochs·rf^k < maxEpochs; at a rung, a trial
 *  continues iff its value is at least as good as the ⌈n/rf⌉-th best of the n values there */
class Reference {
  readonly rungs: number[] = [];
  private readonly seen = new Map<number, Map<number, number>>();
  constructor(
    min: number,
    private readonly rf: number,
    max: number,
    private readonly goal: 'maximize' | 'minimize',
  ) {
    for (let k = 0; min * rf ** k < max; k++) this.rungs.push(min * rf ** k);
  }
  report(trial: number, epoch: number, value: number): 'continue' | 'stop' {
    if (!this.rungs.includes(epoch)) return 'continue';
    const at = this.seen.get(epoch) ?? new Map<number, number>();
    this.seen.set(epoch, at);
    at.set(trial, value);
    const values = [...at.values()].sort((a, b) => (this.goal === 'maximize' ? b - a : a - b));
    const kth = values[Math.ceil(values.length / this.rf) - 1]!;
    const asGood = this.goal === 'maximize' ? value >= kth : value <= kth;
    return asGood ? 'continue' : 'stop';
  }
}

/** trials report epochs 1..maxEpochs in a random interleaving; a stopped trial reports no more */
function stream(
  seed: number,
  trials: number,
  maxEpochs: number,
): Array<{ trial: number; epoch: number; value: number }> {
  const rng = new Rng(seed, 'asha-test');
  const quality = Array.from({ length: trials }, () => rng.uniform());
  const next = new Array<number>(trials).fill(1);
  const out: Array<{ trial: number; epoch: number; value: number }> = [];
  const active = Array.from({ length: trials }, (_, i) => i);
  // values rounded to one decimal, so ties happen
  while (active.length > 0) {
    const j = rng.int(active.length);
    const t = active[j]!;
    const e = next[t]!++;
    out.push({ trial: t, epoch: e, value: Math.round(10 * (quality[t]! + (0.3 * rng.normal()) / e)) / 10 });
    if (e === maxEpochs) active.splice(j, 1);
  }
  return out;
}

describe('ASHA', () => {
  it('rungs at minEpochs·rf^k below maxEpochs', () => {
    expect(new Asha(1, 3, 27, 'maximize').rungs()).toEqual([1, 3, 9]);
    expect(new Asha(2, 2, 17, 'minimize').rungs()).toEqual([2, 4, 8, 16]);
    expect(new Asha(5, 3, 5, 'maximize').rungs()).toEqual([]);
  });

  for (const [min, rf, max, goal] of [
    [1, 3, 27, 'maximize'],
    [1, 2, 16, 'minimize'],
    [2, 4, 40, 'maximize'],
  ] as const) {
    it(`matches a sequential simulation of the rule (${min}, ${rf}, ${max}, ${goal}) over random streams`, () => {
      let stops = 0;
      for (let seed = 0; seed < 20; seed++) {
        const asha = new Asha(min, rf, max, goal);
        const ref = new Reference(min, rf, max, goal);
        expect(asha.rungs()).toEqual(ref.rungs);
        const stopped = new Set<number>();
        for (const r of stream(seed, 30, max)) {
          if (stopped.has(r.trial)) continue;
          const a = asha.report(r.trial, r.epoch, r.value);
          expect(a).toBe(ref.report(r.trial, r.epoch, r.value));
          if (a === 'stop') {
            stopped.add(r.trial);
            stops++;
          }
        }
      }
      expect(stops).toBeGreaterThan(0);
    });
  }

  it('the first trial at a rung continues; ties favour continuing', () => {
    const a = new Asha(1, 3, 27, 'maximize');
    expect(a.report(0, 1, 0.5)).toBe('continue');
    expect(a.report(1, 1, 0.4)).toBe('stop'); // n = 2: top 1
    expect(a.report(2, 1, 0.5)).toBe('continue'); // tie with the best
    expect(a.report(3, 1, 0.45)).toBe('stop'); // n = 4: top 2 are 0.5, 0.5
    expect(a.report(3, 2, 0.1)).toBe('continue'); // not a rung
  });

  it('state() survives JSON and restore() continues with the same decisions', () => {
    const events = stream(7, 25, 27);
    const whole = new Asha(1, 3, 27, 'maximize');
    let half = new Asha(1, 3, 27, 'maximize');
    const stopped = new Set<number>();
    events.forEach((r, i) => {
      if (stopped.has(r.trial)) return;
      if (i === Math.floor(events.length / 2)) half = Asha.restore(JSON.parse(JSON.stringify(half.state())));
      const a = whole.report(r.trial, r.epoch, r.value);
      expect(half.report(r.trial, r.epoch, r.value)).toBe(a);
      if (a === 'stop') stopped.add(r.trial);
    });
    expect(half.state()).toEqual(whole.state());
  });
});
