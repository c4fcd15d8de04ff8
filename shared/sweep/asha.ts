// Asynchronous successive halving (Li et al. 2020, "A System for Massively Parallel
// Hyperparameter Tuning"), the stopping variant: rungs at epochs minEpochs·rf^k (k = 0, 1, …)
// below maxEpochs. When a trial reports a rung epoch its value is recorded at that rung, and it
// continues iff the value is among the top ⌈n/rf⌉ of the n values recorded there so far (itself
// included; ties favour continuing: only strictly better values outrank it); else it stops.
// Other epochs continue. A non-finite value counts as the worst. A trial reporting a rung again
// (a resumed sweep replaying its curve) replaces its value there. Pure: the caller persists
// `state()` or replays the reports.
//
// With seeds (`seeds: K`, SeedRungs below) a rung compares configuration MEANS: a trial's value
// at rung epoch e is the mean of its K seed runs' values at e (in seed order; a non-finite one
// makes it non-finite, the worst), reported to ASHA when its last seed run reaches e. Seed runs
// never wait for each other (there may be fewer seats than K): one that reaches a rung before its
// siblings continues training; once the decision at that rung is 'stop', every seed run of the
// trial stops at its next epoch boundary (the one whose report decided stops at once), and the
// trial's value is its mean at the rung where it was stopped (each seed run's value: its value at
// that rung). A seed run that ended before the decision keeps its epochs; the trial's epochs are
// the rung's.

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

/** A seed run's metrics at one epoch (what a rung keeps: the trial's value there is their mean). */
export interface RungPoint {
  value: number;
  valAccuracy: number;
}

/** ASHA over configurations trained with K seed runs each (the rule is in the header). */
export class SeedRungs {
  /** trial → rung epoch → seed index → its point there */
  private readonly at = new Map<number, Map<number, Map<number, RungPoint>>>();
  /** trial → the rung epoch where ASHA stopped it */
  private readonly stopped = new Map<number, number>();
  private readonly rungSet: Set<number>;

  constructor(
    readonly asha: Asha,
    readonly seeds: number,
  ) {
    if (!Number.isSafeInteger(seeds) || seeds < 1) throw new RangeError(`seeds ${seeds} must be a whole number >= 1`);
    this.rungSet = new Set(asha.rungs());
  }

  /** Seed run `seed` of `trial` ended epoch `epoch` with `point`: 'stop' when the trial has been
   *  stopped (at this rung, by this report completing it, or at an earlier one), else
   *  'continue'. Reporting an epoch again replaces the seed's point (a resumed sweep replays). */
  report(trial: number, seed: number, epoch: number, point: RungPoint): 'continue' | 'stop' {
    if (this.rungSet.has(epoch) && !this.stopped.has(trial)) {
      let rungs = this.at.get(trial);
      if (!rungs) {
        rungs = new Map();
        this.at.set(trial, rungs);
      }
      let seeds = rungs.get(epoch);
      if (!seeds) {
        seeds = new Map();
        rungs.set(epoch, seeds);
      }
      seeds.set(seed, point);
      if (seeds.size === this.seeds) {
        const mean = this.mean(trial, epoch)!;
        if (this.asha.report(trial, epoch, mean.value) === 'stop') this.stopped.set(trial, epoch);
      }
    }
    return this.stopped.has(trial) ? 'stop' : 'continue';
  }

  /** the rung epoch where ASHA stopped `trial`, or null */
  stoppedAt(trial: number): number | null {
    return this.stopped.get(trial) ?? null;
  }

  /** the seeds' points at rung `epoch` (by seed index) once all K reached it, else null */
  points(trial: number, epoch: number): RungPoint[] | null {
    const seeds = this.at.get(trial)?.get(epoch);
    if (!seeds || seeds.size < this.seeds) return null;
    return [...seeds.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
  }

  /** the mean of the K seed runs at rung `epoch` (value, valAccuracy), once all reached it */
  mean(trial: number, epoch: number): RungPoint | null {
    const ps = this.points(trial, epoch);
    if (!ps) return null;
    let value = 0,
      valAccuracy = 0;
    for (const p of ps) {
      value += p.value;
      valAccuracy += p.valAccuracy;
    }
    return { value: value / ps.length, valAccuracy: valAccuracy / ps.length };
  }
}
