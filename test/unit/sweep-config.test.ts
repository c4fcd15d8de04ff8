// The sweep config: what a sweep file may say, what it means when it says nothing, how a
// mistake is reported (one line per problem naming the key path, the value and what is
// allowed), and the helpers the coordinator uses (applyParams, canonicalJson, describeChange).
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_RUN_CONFIG, parseRunConfig } from '../../shared/config.js';
import { ACTIVATIONS } from '../../shared/config-types.js';
import { UserError } from '../../shared/errors.js';
import { applyParams, canonicalJson, describeChange, parseSweepConfig } from '../../shared/sweep/config.js';

const stub = (): ReturnType<typeof parseRunConfig> => parseRunConfig({});

/** the CONFIG_INVALID lines parsing `raw` produces */
function problems(raw: unknown): string[] {
  try {
    parseSweepConfig(raw, stub);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).code).toBe('CONFIG_INVALID');
    return (e as UserError).message.split('\n');
  }
  throw new Error('expected the sweep config to be rejected');
}
function problem(raw: unknown): string {
  const lines = problems(raw);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

const EXAMPLE = `
base: run.yaml            # a run config (path relative to this file), or inline under \`run:\`
method: random            # grid | random | tpe | narrow
metric: { name: valAccuracy, goal: maximize }
trials: 40
concurrency: 4            # trials at once; default: one per available worker
parameters:
  optimizer.lr: { distribution: log_uniform, min: 0.0001, max: 0.1 }
  model.dropout: { values: [0, 0.2, 0.5] }
  model.activation: { values: [relu, tanh, sigmoid, gelu] }
  model.hidden: { values: [[128], [256, 128]] }
earlyStopping: { type: asha, minEpochs: 1, reductionFactor: 3 }   # optional
`;

describe('the documented example', () => {
  it('parses as written, loading the base through the callback', () => {
    const asked: string[] = [];
    const c = parseSweepConfig(parseYaml(EXAMPLE), (p) => {
      asked.push(p);
      return parseRunConfig({});
    });
    expect(asked).toEqual(['run.yaml']);
    expect(c.base).toEqual(DEFAULT_RUN_CONFIG);
    expect(c.method).toBe('random');
    expect(c.metric).toEqual({ name: 'valAccuracy', goal: 'maximize' });
    expect(c.trials).toBe(40);
    expect(c.concurrency).toBe(4);
    expect(c.workersPerTrial).toBe(1);
    expect(c.seed).toBe(0);
    expect(Object.keys(c.parameters)).toEqual(['optimizer.lr', 'model.dropout', 'model.activation', 'model.hidden']);
    expect(c.parameters['optimizer.lr']).toEqual({ distribution: 'log_uniform', min: 0.0001, max: 0.1 });
    expect(c.parameters['model.dropout']).toEqual({ distribution: 'values', values: [0, 0.2, 0.5] });
    expect(c.parameters['model.hidden']).toEqual({ distribution: 'values', values: [[128], [256, 128]] });
    expect(c.earlyStopping).toEqual({ type: 'asha', minEpochs: 1, reductionFactor: 3 });
    expect(c.tpe).toEqual({ startupTrials: 10, gamma: null, candidates: 24, multivariate: false, constantLiar: true });
    expect(c.narrow).toEqual({ rounds: 3, keep: 0.25 });
  });
});

describe('defaults', () => {
  const params = {
    'model.dropout': { values: [0, 0.5] },
    'model.init': { values: ['he_normal', 'zeros'] },
    epochs: { distribution: 'int', min: 1, max: 3 },
  };
  it('without base or run the base is the default run config; seed follows it', () => {
    const c = parseSweepConfig({ parameters: params }, () => {
      throw new Error('no base file expected');
    });
    expect(c.base).toEqual(parseRunConfig({}));
    expect(c.method).toBe('random');
    expect(c.trials).toBe(20);
    expect(c.concurrency).toBeNull();
    expect(c.earlyStopping).toBeNull();
    expect(c.metric).toEqual({ name: 'valAccuracy', goal: 'maximize' });
    const d = parseSweepConfig({ run: { seed: 9, epochs: 4 }, parameters: params }, stub);
    expect(d.seed).toBe(9);
    expect(d.base.epochs).toBe(4);
  });
  it('grid runs the whole grid; valLoss is minimized', () => {
    const c = parseSweepConfig({ method: 'grid', metric: { name: 'valLoss' }, parameters: params }, stub);
    expect(c.trials).toBe(2 * 2 * 3);
    expect(c.metric).toEqual({ name: 'valLoss', goal: 'minimize' });
  });
  it('tpe: gamma null means the schedule min(⌈0.1·n⌉, 25); every tpe key can be set', () => {
    const c = parseSweepConfig(
      {
        method: 'tpe',
        parameters: params,
        tpe: { startupTrials: 5, gamma: 0.3, candidates: 48, multivariate: true, constantLiar: false },
      },
      stub,
    );
    expect(c.tpe).toEqual({ startupTrials: 5, gamma: 0.3, candidates: 48, multivariate: true, constantLiar: false });
  });
  it('base and run together are refused', () => {
    expect(problem({ base: 'a.yaml', run: {}, parameters: params })).toMatch(
      /^base: "a.yaml" cannot be given together with run/,
    );
  });
  it('an invalid inline run config is reported under run.', () => {
    expect(problem({ run: { epochs: 0 }, parameters: params })).toBe('run.epochs: 0 must be a whole number >= 1');
  });
});

describe('errors', () => {
  const one = (spec: unknown, extra: Record<string, unknown> = {}): string =>
    problem({ parameters: { 'model.dropout': { values: [0, 0.5] }, ...(spec as object) }, ...extra });

  it('an unknown parameter path lists the top-level keys', () => {
    const line = one({ 'modl.dropout': { values: [0, 0.5] } });
    expect(line).toMatch(/^parameters\["modl\.dropout"\]: unknown parameter path/);
    for (const k of Object.keys(DEFAULT_RUN_CONFIG)) expect(line).toContain(k);
    expect(one({ 'model.dropot': { values: [0] } })).toMatch(
      /^parameters\["model\.dropot"\]: unknown parameter path .*hidden, activation/,
    );
  });
  it('a value the base cannot take: the run-config message for that value', () => {
    let expected = '';
    try {
      parseRunConfig({ model: { activation: 'relux' } });
    } catch (e) {
      expected = (e as Error).message;
    }
    expect(expected).toMatch(/^model\.activation: /);
    const line = one({ 'model.activation': { values: ['relu', 'relux'] } });
    expect(line).toBe(`parameters["model.activation"]: ${expected.slice('model.activation: '.length)}`);
    expect(line).toContain(ACTIVATIONS.join(', '));
  });
  it('empty values', () => {
    expect(one({ 'model.init': { values: [] } })).toBe(
      'parameters["model.init"].values: [] must be a non-empty list of the values to try',
    );
  });
  it('min >= max', () => {
    expect(one({ 'optimizer.lr': { distribution: 'uniform', min: 0.1, max: 0.1 } })).toBe(
      'parameters["optimizer.lr"].min: 0.1 must be < max (0.1)',
    );
  });
  it('log_uniform with min <= 0', () => {
    expect(one({ 'optimizer.lr': { distribution: 'log_uniform', min: 0, max: 0.1 } })).toMatch(
      /^parameters\["optimizer\.lr"\]\.min: 0 must be > 0/,
    );
  });
  it('int with a non-integer bound', () => {
    expect(one({ epochs: { distribution: 'int', min: 1.5, max: 4 } })).toBe(
      'parameters["epochs"].min: 1.5 must be a whole number (distribution int)',
    );
  });
  it('tpe keys: gamma in (0, 1), booleans for multivariate and constantLiar', () => {
    expect(one({}, { tpe: { gamma: 1 } })).toBe('tpe.gamma: 1 must be in (0, 1)');
    expect(one({}, { tpe: { constantLiar: 'yes' } })).toMatch(/^tpe\.constantLiar: .*must be true or false/);
    expect(one({}, { tpe: { multivariate: 1 } })).toMatch(/^tpe\.multivariate: .*must be true or false/);
  });
  it('trials < 1', () => {
    expect(one({}, { trials: 0 })).toBe('trials: 0 must be a whole number >= 1');
  });
  it('grid with a continuous distribution', () => {
    expect(one({ 'optimizer.lr': { distribution: 'log_uniform', min: 0.001, max: 0.1 } }, { method: 'grid' })).toBe(
      'parameters["optimizer.lr"]: distribution log_uniform cannot be used with method grid (grid needs { values: [...] } or distribution int)',
    );
  });
  it('missing parameters, unknown keys and bad enums are each named', () => {
    expect(problem({})).toMatch(/^parameters: missing/);
    expect(one({}, { methd: 'grid' })).toMatch(/^methd: unknown key \(allowed: base, run, method/);
    expect(one({}, { method: 'bayes' })).toBe('method: "bayes" is not one of grid, random, tpe, narrow');
  });
});

describe('applyParams', () => {
  it('a trial that changes optimizer.name drops the keys only the base optimizer read (adam betas for sgd), and keeps the ones a parameter sets', () => {
    const base = parseRunConfig({ optimizer: { name: 'adam' } });
    const sgd = applyParams(base, { 'optimizer.name': 'sgd' });
    expect(sgd.optimizer.name).toBe('sgd');
    expect(sgd.optimizer).not.toHaveProperty('beta1');
    expect(sgd.optimizer.lr).toBe(base.optimizer.lr);
    const momentum = applyParams(base, { 'optimizer.name': 'momentum', 'optimizer.momentum': 0.5 });
    expect(momentum.optimizer).toMatchObject({ name: 'momentum', momentum: 0.5 });
    // a key the trial sets on purpose that its optimizer does not read is still an error
    expect(() => applyParams(base, { 'optimizer.name': 'sgd', 'optimizer.momentum': 0.5 })).toThrow(/momentum/);
    // and a sweep varying the optimizer over the default base validates
    expect(() =>
      parseSweepConfig(
        { method: 'grid', parameters: { 'optimizer.name': { values: ['sgd', 'adam', 'rmsprop'] } } },
        stub,
      ),
    ).not.toThrow();
  });

  it('sets each dotted path on a copy and resolves it again', () => {
    const base = parseRunConfig({ optimizer: { name: 'adam' } });
    const before = structuredClone(base);
    const c = applyParams(base, {
      'model.dropout': 0.2,
      'optimizer.lr': 0.05,
      'model.hidden': [64],
      epochs: 2,
    });
    expect(c.model.dropout).toBe(0.2);
    expect(c.optimizer.lr).toBe(0.05);
    expect(c.model.hidden).toEqual([64]);
    expect(c.epochs).toBe(2);
    expect({
      ...c,
      model: { ...c.model, dropout: 0, hidden: [256, 128] },
      optimizer: { ...c.optimizer, lr: 0.001 },
      epochs: 10,
    }).toEqual(base);
    expect(base).toEqual(before);
  });
  it('rejects a value the run config cannot take', () => {
    expect(() => applyParams(DEFAULT_RUN_CONFIG, { 'model.dropout': 1.5 })).toThrow(
      /model\.dropout: 1\.5 must be in \[0, 1\)/,
    );
  });
});

describe('canonicalJson and describeChange', () => {
  it('canonicalJson sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 'x' }], u: undefined })).toBe('{"a":[{"c":"x","d":1}],"b":1}');
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });
  it('names the changed keys', () => {
    const raw = { parameters: { 'model.dropout': { values: [0, 0.2] } }, trials: 40 };
    const a = parseSweepConfig(raw, stub);
    const b = parseSweepConfig(
      {
        ...raw,
        trials: 60,
        method: 'tpe',
        parameters: {
          'model.dropout': { values: [0, 0.2, 0.5] },
          'optimizer.lr': { distribution: 'log_uniform', min: 1e-4, max: 1e-1 },
        },
      },
      stub,
    );
    const s = describeChange(a, b);
    expect(s).toContain('trials 40 → 60');
    expect(s).toContain('method "random" → "tpe"');
    expect(s).toContain('parameters["model.dropout"].values [0, 0.2] → [0, 0.2, 0.5]');
    expect(s).toContain('parameters["optimizer.lr"] added');
    expect(describeChange(a, JSON.parse(JSON.stringify(a)))).toBe('nothing changed');
    const c = parseSweepConfig({ ...raw, run: { optimizer: { lr: 0.01 } } }, stub);
    expect(describeChange(a, c)).toBe('changed: base.optimizer.lr 0.001 → 0.01');
  });
});

describe('seeds: K seed runs per configuration', () => {
  const params = { 'model.dropout': { values: [0, 0.2] } };
  it('defaults to 1 and takes a whole number >= 1', () => {
    expect(parseSweepConfig({ parameters: params }, stub).seeds).toBe(1);
    expect(parseSweepConfig({ parameters: params, seeds: 3 }, stub).seeds).toBe(3);
  });
  it('anything else is one CONFIG_INVALID line naming the key, the value and what is allowed', () => {
    expect(problem({ parameters: params, seeds: 0 })).toBe('seeds: 0 must be a whole number >= 1');
    expect(problem({ parameters: params, seeds: 2.5 })).toBe('seeds: 2.5 must be a whole number >= 1');
    expect(problem({ parameters: params, seeds: 'three' })).toBe('seeds: "three" must be a whole number >= 1');
    expect(problem({ parameters: params, seeds: -1 })).toBe('seeds: -1 must be a whole number >= 1');
  });
  it('data.splitSeed: a whole number >= 0, kept in the resolved run config only when written', () => {
    expect(parseRunConfig({ seed: 5 }).data.splitSeed).toBeUndefined();
    expect(parseRunConfig({ seed: 5, data: { splitSeed: 4 } }).data.splitSeed).toBe(4);
    expect(() => parseRunConfig({ data: { splitSeed: -1 } })).toThrow('data.splitSeed: -1 must be a whole number >= 0');
  });
});
