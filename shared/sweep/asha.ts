// Asynchronous successive halving (Li et al. 2020, "A System for Massively Parallel
// Hyperparameter Tuning"), the stopping variant: rungs at epochs minEpochs·rf^k (k = 0, 1, …)
// below maxEpochs. When a trial reports a rung epoch its value is recorded at that rung, and it
// continues iff the value is among the top ⌈n/rf⌉ of the n values recorded there so far (itself
// included; ties favour continuing: only strictly better values outrank it); else it stops.
// Other epochs continue. A non-finite value counts as the worst. A trial reporting a rung again
// (a resumed sweep replaying its curve) replaces its value there. Pure: the caller persists
// `state()` or replays the reports.

export type Goal = 'maximize' | 'minimize';

export interface AshaState {
  minEpochs: number;
  reductionFactor: number;
  maxEpochs: number;
  goal: Goal;
  /** per rung (in the order of `rungs()`): [trial, value] in the order recorded; null = not finite */
  recorded: Array<Array<[number, number | null]>>;
}

export class Asha {
  private readonly rungEpochs: number[];
  /** per rung: trial → value (insertion order kept for `state()`) */
  private readonly recorded: Array<Map<number, number | null>>;

  constructor(
    readonly minEpochs: number,
    readonly reductionFactor: number,
    readonly maxEpochs: number,
    readonly goal: Goal,
  ) {
    if (!Number.isSafeInteger(minEpochs) || minEpochs < 1)
      throw new RangeError(`ASHA: minEpochs ${minEpochs} must be a whole number >= 1`);
    if (!(reductionFactor > 1)) throw new RangeError(`ASHA: reductionFactor ${reductionFactor} must be > 1`);
    this.rungEpochs = [];
    for (let e = minEpochs; e < maxEpochs; e *= reductionFactor) this.rungEpochs.push(e);
    this.recorded = this.rungEpochs.map(() => new Map());
  }

  /** the rung epochs, ascending */
  rungs(): number[] {
    return [...this.rungEpochs];
  }

  report(trial: number, epoch: number, value: number): 'continue' | 'stop' {
    const rung = this.rungEpochs.indexOf(epoch);
    if (rung < 0) return 'continue';
    const at = this.recorded[rung]!;
    const v = Number.isFinite(value) ? value : null;
    at.set(trial, v);
    const n = at.size;
    const keep = Math.ceil(n / this.reductionFactor);
    let better = 0;
    for (const [other, w] of at) if (other !== trial && this.beats(w, v)) better++;
    return better < keep ? 'continue' : 'stop';
  }

  /** is a strictly better than b (null = worst) */
  private beats(a: number | null, b: number | null): boolean {
    if (a === null) return false;
    if (b === null) return true;
    return this.goal === 'maximize' ? a > b : a < b;
  }

  state(): AshaState {
    return {
      minEpochs: this.minEpochs,
      reductionFactor: this.reductionFactor,
      maxEpochs: this.maxEpochs,
      goal: this.goal,
      recorded: this.recorded.map((m) => [...m.entries()]),
    };
  }

  static restore(s: AshaState): Asha {
    const a = new Asha(s.minEpochs, s.reductionFactor, s.maxEpochs, s.goal);
    if (s.recorded.length !== a.recorded.length)
      throw new RangeError(`ASHA: the state has ${s.recorded.length} rungs, its parameters give ${a.recorded.length}`);
    s.recorded.forEach((entries, i) => {
      for (const [trial, value] of entries) a.recorded[i]!.set(trial, value);
    });
    return a;
  }
}
