// The report's statistics (shared/sweep/effects.ts): the regularized incomplete beta function and
// the F distribution's tail against tabled values, the main-effect F-test on a hand-worked design,
// and simulations: a factor with no true effect is called within noise in about 95% of seeds, a
// large effect is always detected.
import { describe, expect, it } from 'vitest';
import { betaInc, fmtF, fmtP, fTail, lnGamma, mainEffects } from '../../shared/sweep/effects.js';
import type { SweepConfig, TrialRecord } from '../../shared/sweep/types.js';

describe('betaInc and fTail', () => {
  it('lnGamma: Γ(5) = 24, Γ(1/2) = √π', () => {
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(lnGamma(1)).toBeCloseTo(0, 12);
  });

  it('I_x(a, b): closed forms', () => {
    // I_x(1, 1) = x; I_x(2, 3) = Σ_{j=2..4} C(4, j) x^j (1-x)^(4-j) = 11/16 at x = 1/2
    for (const x of [0, 0.1, 0.5, 0.93, 1]) expect(betaInc(1, 1, x)).toBeCloseTo(x, 12);
    expect(betaInc(2, 3, 0.5)).toBeCloseTo(11 / 16, 12);
    // symmetry: I_x(a, b) = 1 - I_{1-x}(b, a)
    expect(betaInc(7.5, 2.5, 0.3)).toBeCloseTo(1 - betaInc(2.5, 7.5, 0.7), 12);
    expect(() => betaInc(0, 1, 0.5)).toThrow(RangeError);
  });

  it('the F tables: the 0.05 critical values give p = 0.05', () => {
    expect(fTail(4.965, 1, 10)).toBeCloseTo(0.05, 4);
    expect(fTail(3.493, 2, 20)).toBeCloseTo(0.05, 4);
    expect(fTail(161.4, 1, 1)).toBeCloseTo(0.05, 4);
    expect(fTail(2.922, 3, 30)).toBeCloseTo(0.05, 3);
    expect(fTail(2.69, 4, 30)).toBeCloseTo(0.05, 3);
    expect(fTail(3.06, 2, 144)).toBeCloseTo(0.05, 3);
    // the 0.01 critical value of F(4, 30)
    expect(fTail(4.018, 4, 30)).toBeCloseTo(0.01, 4);
    expect(fTail(0, 2, 5)).toBe(1);
    expect(fTail(Infinity, 2, 5)).toBe(0);
  });

  it('F(1, ν) is t² : its tail is the two-sided t p-value (closed form for ν = 4)', () => {
    // P(T ≤ t) = 1/2 + t/(2√(4+t²)) · (1 + 2/(4+t²)) for Student's t with 4 df
    const twoSided = (t: number): number => 2 * (0.5 - (t / (2 * Math.sqrt(4 + t * t))) * (1 + 2 / (4 + t * t)));
    for (const t of [0.3, 1, 2.776, 4, 9]) expect(fTail(t * t, 1, 4)).toBeCloseTo(twoSided(t), 10);
  });

  it('formats F and p as the report writes them', () => {
    expect(fmtF({ f: 0.8, df1: 2, df2: 144 })).toBe('F(2, 144) = 0.80');
    expect(fmtF({ f: 52.34, df1: 3, df2: 144 })).toBe('F(3, 144) = 52.3');
    expect(fmtP(0.4512)).toBe('p = 0.45');
    expect(fmtP(0.0123)).toBe('p = 0.012');
    expect(fmtP(0.00001)).toBe('p < 0.001');
  });
});

const GRID = (parameters: Record<string, unknown[]>): Pick<SweepConfig, 'method' | 'parameters'> => ({
  method: 'grid',
  parameters: Object.fromEntries(
    Object.entries(parameters).map(([p, values]) => [p, { distribution: 'values' as const, values }]),
  ),
});

function trial(index: number, params: Record<string, unknown>, values: number[]): TrialRecord {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return {
    index,
    params,
    status: 'finished',
    value: m,
    valAccuracy: m,
    epochs: 1,
    curve: [],
    seeds: values.map((v, k) => ({
      seedIndex: k,
      seed: k,
      runId: null,
      status: 'finished',
      value: v,
      valAccuracy: v,
      epochs: 1,
    })),
  };
}

describe('mainEffects: a hand-worked 2 × 2 design with 2 seeds', () => {
  // cells (a, b): seeds          cell mean
  //   (1, x): 1, 3                2
  //   (1, y): 2, 4                3
  //   (2, x): 5, 7                6
  //   (2, y): 6, 8                7
  // grand mean 4.5; A means 2.5 and 6.5: SS_A = 2 seeds · 2 cells · (2² + 2²) = 32, df 1
  // B means 4 and 5: SS_B = 2 · 2 · (0.5² + 0.5²) = 2, df 1
  // within: each cell (1² + 1²) = 2, SS = 8, df = 4 cells · (2 − 1) = 4, MS = 2
  // F_A = 32 / 2 = 16, F_B = 2 / 2 = 1, both on (1, 4) df
  const config = GRID({ a: [1, 2], b: ['x', 'y'] });
  const trials = [
    trial(0, { a: 1, b: 'x' }, [1, 3]),
    trial(1, { a: 1, b: 'y' }, [2, 4]),
    trial(2, { a: 2, b: 'x' }, [5, 7]),
    trial(3, { a: 2, b: 'y' }, [6, 8]),
  ];
  const r = mainEffects(config, trials);

  it('the error term, F and df', () => {
    if (!r.ok) throw new Error(r.reason);
    expect(r.balanced).toBe(true);
    expect(r.seedsPerCell).toBe(2);
    expect(r.dfError).toBe(4);
    expect(r.msError).toBeCloseTo(2, 12);
    const [A, B] = r.factors;
    expect(A!.f).toBeCloseTo(16, 12);
    expect(B!.f).toBeCloseTo(1, 12);
    expect([A!.df1, A!.df2, B!.df1, B!.df2]).toEqual([1, 4, 1, 4]);
    // p from the t closed form with 4 df: t = 4 → 0.016130, t = 1 → 0.37390
    expect(A!.p).toBeCloseTo(0.01613, 5);
    expect(B!.p).toBeCloseTo(0.3739, 4);
    expect(A!.significant).toBe(true);
    expect(B!.significant).toBe(false);
  });

  it('level means with the pooled 95% interval: ± t(4) · √(MS / 4 observations)', () => {
    if (!r.ok) throw new Error(r.reason);
    const A = r.factors[0]!;
    expect(A.levels.map((l) => l.mean)).toEqual([2.5, 6.5]);
    expect(A.levels.map((l) => l.n)).toEqual([4, 4]);
    expect(A.range).toBe(4);
    const half = 2.776 * Math.sqrt(2 / 4);
    expect(A.levels[0]!.lo).toBeCloseTo(2.5 - half, 10);
    expect(A.levels[1]!.hi).toBeCloseTo(6.5 + half, 10);
  });

  it('a missing seed: the unweighted-means analysis (harmonic mean of the seeds per cell)', () => {
    const t = [...trials];
    t[0] = trial(0, { a: 1, b: 'x' }, [2]);
    const u = mainEffects(config, t);
    if (!u.ok) throw new Error(u.reason);
    expect(u.balanced).toBe(false);
    expect(u.dfError).toBe(3);
    expect(u.msError).toBeCloseTo(6 / 3, 12);
    expect(u.seedsPerCell).toBeCloseTo(4 / (1 + 0.5 + 0.5 + 0.5), 12);
  });

  it('no test without replicates, for an incomplete grid, or for a non-grid sweep', () => {
    const one = trials.map((t) => ({ ...t, seeds: undefined }));
    const r1 = mainEffects(config, one);
    expect(r1.ok).toBe(false);
    expect(!r1.ok && r1.reason).toMatch(/one seed/);
    const r2 = mainEffects(config, trials.slice(1));
    expect(!r2.ok && r2.reason).toMatch(/1 of the grid's 4 configurations has no finished run/);
    const r3 = mainEffects({ ...config, method: 'random' }, trials);
    expect(!r3.ok && r3.reason).toMatch(/not a full grid/);
    // a failed seed is not an observation
    const failed = trials.map((t) => ({ ...t, seeds: t.seeds!.map((s) => ({ ...s, status: 'failed' as const })) }));
    expect(mainEffects(config, failed).ok).toBe(false);
  });
});

/** mulberry32 and Box–Muller: a reproducible normal stream */
function normals(seed: number): () => number {
  let s = seed >>> 0;
  const u = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

describe('mainEffects: simulated lecture grids (3 × 4 × 3 × 2, 3 seeds, seed sd 0.6 points)', () => {
  const config = GRID({
    dropout: [0, 0.2, 0.5],
    activation: ['relu', 'sigmoid', 'tanh', 'gelu'],
    init: ['lecun', 'xavier', 'he'],
    norm: ['none', 'batch'],
  });
  const TRUE: Record<string, Record<string, number>> = {
    dropout: { 0: 0, 0.2: -0.002, 0.5: -0.01 },
    activation: { relu: 0.01, sigmoid: -0.03, tanh: 0, gelu: 0.01 },
    init: { lecun: 0, xavier: 0, he: 0 }, // no effect
    norm: { none: 0, batch: 0.015 },
  };
  const simulate = (seed: number): TrialRecord[] => {
    const z = normals(seed);
    const out: TrialRecord[] = [];
    for (const dropout of [0, 0.2, 0.5])
      for (const activation of ['relu', 'sigmoid', 'tanh', 'gelu'])
        for (const init of ['lecun', 'xavier', 'he'])
          for (const norm of ['none', 'batch']) {
            const mu =
              0.9 + TRUE.dropout![dropout]! + TRUE.activation![activation]! + TRUE.init![init]! + TRUE.norm![norm]!;
            out.push(
              trial(
                out.length,
                { dropout, activation, init, norm },
                [0, 1, 2].map(() => mu + 0.006 * z()),
              ),
            );
          }
    return out;
  };

  it('df = (levels − 1, 72 · (3 − 1) = 144)', () => {
    const r = mainEffects(config, simulate(1));
    if (!r.ok) throw new Error(r.reason);
    expect(r.factors.map((f) => [f.df1, f.df2])).toEqual([
      [2, 144],
      [3, 144],
      [2, 144],
      [1, 144],
    ]);
  });

  it('no true effect (initialization): within noise in ≥ 90% of 300 simulated sweeps; the large effects always detected', () => {
    let within = 0;
    const N = 300;
    for (let s = 1; s <= N; s++) {
      const r = mainEffects(config, simulate(s));
      if (!r.ok) throw new Error(r.reason);
      const [dropout, activation, init, norm] = r.factors;
      if (!init!.significant) within++;
      expect(activation!.significant && norm!.significant && dropout!.significant).toBe(true);
      expect(activation!.p).toBeLessThan(1e-6);
    }
    expect(within / N).toBeGreaterThanOrEqual(0.9);
    expect(within / N).toBeLessThanOrEqual(0.99); // the test is not blind: about 5% false alarms
  });
});
