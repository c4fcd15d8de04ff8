// The run config: what a config file may say, what it means when it says nothing, and how a
// mistake is reported (one line per problem: key path, offending value, what is allowed).
import { describe, expect, it } from 'vitest';
import { DEFAULT_RUN_CONFIG, formatPath, parseConfigText, parseRunConfig } from '../../shared/config.js';
import { UserError } from '../../shared/errors.js';
import { configProblems } from '../helpers/errors.js';

/** the CONFIG_INVALID message lines that parsing `input` produces */
const problems = configProblems;

/** the single problem `input` has */
function problem(input: unknown): string {
  const lines = problems(input);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

const DESIGN_EXAMPLE = `
seed: 11
data: { name: mnist }                  # split defaults to [0.8, 0.1, 0.1], seeded, stratified
model: { hidden: [256, 128], activation: relu, init: he_normal, norm: batch, dropout: 0.2 }
optimizer: { name: adam, lr: 0.001 }   # weightDecay, schedule, clipNorm optional
batchSize: 128
epochs: 10
`;

describe('the DESIGN example', () => {
  it('parses as written', () => {
    const c = parseConfigText(DESIGN_EXAMPLE, 'design.yaml');
    expect(c.seed).toBe(11);
    expect(c.data).toMatchObject({ name: 'mnist', split: [0.8, 0.1, 0.1] });
    expect(c.model).toMatchObject({
      hidden: [256, 128],
      activation: 'relu',
      init: 'he_normal',
      norm: 'batch',
      dropout: 0.2,
      dropoutMode: 'inverted',
      loss: 'cross_entropy',
    });
    expect(c.model.layers).toBeUndefined();
    expect(c.optimizer).toMatchObject({
      name: 'adam',
      lr: 0.001,
      weightDecay: 0,
      decay: 'l2',
      clipNorm: 0,
      eps: 1e-8,
      schedule: { name: 'constant', warmupSteps: 0 },
    });
    expect(c.batchSize).toBe(128);
    expect(c.microbatch).toBe(16);
    expect(c.epochs).toBe(10);
  });

  it('means the same as JSON', () => {
    const json = JSON.stringify({
      seed: 11,
      data: { name: 'mnist' },
      model: { hidden: [256, 128], activation: 'relu', init: 'he_normal', norm: 'batch', dropout: 0.2 },
      optimizer: { name: 'adam', lr: 0.001 },
      batchSize: 128,
      epochs: 10,
    });
    expect(parseConfigText(json, 'design.json')).toEqual(parseConfigText(DESIGN_EXAMPLE, 'design.yaml'));
  });
});

describe('defaults', () => {
  it('{} is the default run, with the keys it uses', () => {
    expect(parseRunConfig({})).toEqual({
      seed: 0,
      data: { name: 'mnist', split: [0.8, 0.1, 0.1], samples: 1000, classes: 3, noise: 0.1 },
      model: {
        hidden: [256, 128],
        activation: 'relu',
        init: 'he_normal',
        norm: 'none',
        dropout: 0,
        dropoutMode: 'inverted',
        loss: 'cross_entropy',
      },
      optimizer: {
        name: 'adam',
        lr: 0.001,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0,
        decay: 'l2',
        clipNorm: 0,
        schedule: { name: 'constant', warmupSteps: 0 },
      },
      batchSize: 128,
      microbatch: 16,
      epochs: 10,
      checkpointEvery: 'epoch',
      checkpointSeconds: 60,
      onNonFinite: 'stop',
    });
  });

  it('DEFAULT_RUN_CONFIG is the {} run, and an empty file is too', () => {
    expect(DEFAULT_RUN_CONFIG).toEqual(parseRunConfig({}));
    expect(parseConfigText('', 'empty.yaml')).toEqual(DEFAULT_RUN_CONFIG);
    expect(parseConfigText('# only a comment\n', 'c.yaml')).toEqual(DEFAULT_RUN_CONFIG);
  });

  // PyTorch's lr and eps where gradwire follows them; sgd, momentum and nesterov take 0.01
  // (PyTorch's SGD: 1e-3 since 2.2, required before) and nadam 0.001 (PyTorch's NAdam: 2e-3)
  it.each([
    ['sgd', 0.01, undefined],
    ['momentum', 0.01, undefined],
    ['nesterov', 0.01, undefined],
    ['adagrad', 0.01, 1e-10],
    ['rmsprop', 0.01, 1e-8],
    ['adadelta', 1.0, 1e-6],
    ['adam', 0.001, 1e-8],
    ['adamw', 0.001, 1e-8],
    ['nadam', 0.001, 1e-8],
  ])('%s defaults to lr %d and eps %s (sgd, momentum, nesterov have none)', (name, lr, eps) => {
    const o = parseRunConfig({ optimizer: { name } }).optimizer;
    expect(o.lr).toBe(lr);
    expect(o.eps).toBe(eps);
  });

  it('adamw defaults to decoupled weight decay 0.01; the others to L2 decay 0', () => {
    expect(parseRunConfig({ optimizer: { name: 'adamw' } }).optimizer).toMatchObject({
      weightDecay: 0.01,
      decay: 'decoupled',
    });
    expect(parseRunConfig({ optimizer: { name: 'sgd' } }).optimizer).toMatchObject({
      weightDecay: 0,
      decay: 'l2',
    });
  });

  it('an explicit decay kind, lr or eps wins over the optimizer default', () => {
    const o = parseRunConfig({
      optimizer: { name: 'adam', decay: 'decoupled', weightDecay: 0.1, lr: 0.5, eps: 1e-6 },
    }).optimizer;
    expect(o).toMatchObject({ decay: 'decoupled', weightDecay: 0.1, lr: 0.5, eps: 1e-6 });
    expect(parseRunConfig({ optimizer: { name: 'sgd', decay: 'decoupled' } }).optimizer.decay).toBe('decoupled');
  });

  it('an exponential schedule defaults to gamma 0.95, a step schedule to 0.1', () => {
    expect(parseRunConfig({ optimizer: { schedule: { name: 'exponential' } } }).optimizer.schedule.gamma).toBe(0.95);
    expect(
      parseRunConfig({ optimizer: { schedule: { name: 'exponential', gamma: 0.5 } } }).optimizer.schedule.gamma,
    ).toBe(0.5);
    expect(parseRunConfig({ optimizer: { schedule: { name: 'step' } } }).optimizer.schedule.gamma).toBe(0.1);
  });

  it('microbatch may exceed batchSize (the trainer uses the smaller)', () => {
    expect(parseRunConfig({ batchSize: 8, microbatch: 32 })).toMatchObject({ batchSize: 8, microbatch: 32 });
  });

  it('an empty hidden list is logistic regression', () => {
    expect(parseRunConfig({ model: { hidden: [] } }).model.hidden).toEqual([]);
  });
});

describe('schedule shorthand', () => {
  it('a bare string names the schedule with its defaults', () => {
    const c = parseConfigText('optimizer: { name: sgd, schedule: cosine }\n', 's.yaml');
    expect(c.optimizer.schedule).toEqual({ name: 'cosine', minLr: 0, warmupSteps: 0 });
    expect(parseRunConfig({ optimizer: { schedule: 'exponential' } }).optimizer.schedule.gamma).toBe(0.95);
  });

  it('a bad bare string is reported at optimizer.schedule', () => {
    expect(problem({ optimizer: { schedule: 'cosin' } })).toBe(
      'optimizer.schedule: "cosin" is not one of constant, step, exponential, cosine',
    );
  });
});

describe('explicit layer lists', () => {
  it('fills dense init and dropout mode from the compact keys', () => {
    const c = parseRunConfig({
      model: {
        init: 'xavier_uniform',
        dropoutMode: 'scale_at_test',
        layers: [
          { type: 'dense', units: 16 },
          { type: 'groupnorm', groups: 4 },
          { type: 'activation', name: 'gelu' },
          { type: 'dropout', rate: 0.5 },
          { type: 'dense', units: 3, init: 'zeros' },
          { type: 'layernorm' },
        ],
      },
    });
    expect(c.model.layers).toEqual([
      { type: 'dense', units: 16, init: 'xavier_uniform' },
      { type: 'groupnorm', groups: 4 },
      { type: 'activation', name: 'gelu' },
      { type: 'dropout', rate: 0.5, mode: 'scale_at_test' },
      { type: 'dense', units: 3, init: 'zeros' },
      { type: 'layernorm' },
    ]);
  });

  it('an unknown layer type names its index and the allowed types', () => {
    expect(problems({ model: { layers: [{ type: 'dense', units: 4 }, { type: 'relu' }, { type: 'conv' }] } })).toEqual([
      'model.layers[1].type: "relu" is not one of dense, activation, batchnorm, layernorm, groupnorm, instancenorm, dropout',
      'model.layers[2].type: "conv" is not one of dense, activation, batchnorm, layernorm, groupnorm, instancenorm, dropout',
    ]);
  });

  it('a missing required key is named', () => {
    expect(problem({ model: { layers: [{ type: 'dense' }] } })).toBe(
      'model.layers[0].units: missing; it must be a whole number >= 1',
    );
    expect(problem({ model: { layers: [{ units: 4 }] } })).toMatch(
      /^model\.layers\[0\]\.type: missing; it must be one of dense, /,
    );
  });

  it('a key another layer type takes is unknown here', () => {
    expect(problem({ model: { layers: [{ type: 'batchnorm', units: 4 }] } })).toBe(
      'model.layers[0].units: unknown key (allowed: type)',
    );
  });

  it('a layer field breaks its rule', () => {
    expect(problem({ model: { layers: [{ type: 'dropout', rate: 1 }] } })).toBe(
      'model.layers[0].rate: 1 must be in [0, 1)',
    );
    expect(problem({ model: { layers: [{ type: 'activation', name: 'relux' }] } })).toBe(
      'model.layers[0].name: "relux" is not one of relu, leaky_relu, elu, selu, gelu, sigmoid, tanh, softplus, silu',
    );
  });

  it('groupnorm groups must divide the preceding dense width', () => {
    expect(
      problem({
        model: {
          layers: [
            { type: 'dense', units: 256 },
            { type: 'activation', name: 'relu' },
            { type: 'groupnorm', groups: 3 },
          ],
        },
      }),
    ).toBe('model.layers[2].groups: 3 does not divide layer width 256 (model.layers[0].units)');
    expect(
      problem({
        model: {
          layers: [
            { type: 'dense', units: 10 },
            { type: 'instancenorm', channels: 4 },
          ],
        },
      }),
    ).toBe('model.layers[1].channels: 4 does not divide layer width 10 (model.layers[0].units)');
  });

  it('a norm before the first dense is checked only when the model is built (input width unknown)', () => {
    expect(() =>
      parseRunConfig({
        model: {
          layers: [
            { type: 'groupnorm', groups: 7 },
            { type: 'dense', units: 3 },
          ],
        },
      }),
    ).not.toThrow();
  });
});

describe('one rule, one error', () => {
  it('an enum value names the allowed set', () => {
    expect(problem({ model: { activation: 'relux' } })).toBe(
      'model.activation: "relux" is not one of relu, leaky_relu, elu, selu, gelu, sigmoid, tanh, softplus, silu',
    );
    expect(problem({ model: { init: 'glorot' } })).toContain('model.init: "glorot" is not one of lecun_normal, ');
    expect(problem({ model: { norm: 'weight' } })).toBe(
      'model.norm: "weight" is not one of none, batch, layer, group, instance',
    );
    expect(problem({ optimizer: { name: 'lbfgs' } })).toContain(
      'optimizer.name: "lbfgs" is not one of sgd, momentum, ',
    );
    expect(problem({ data: { name: 'cifar' } })).toBe(
      'data.name: "cifar" is not one of mnist, iris, spirals, moons, blobs, idx, csv',
    );
    expect(problem({ onNonFinite: 'ignore' })).toBe('onNonFinite: "ignore" is not one of stop, skip');
  });

  it('lr must be >= 0', () => {
    expect(problem({ optimizer: { lr: -0.1 } })).toBe('optimizer.lr: -0.1 must be >= 0');
  });

  it.each([
    ['momentum', 'momentum'],
    ['beta1', 'adam'],
    ['beta2', 'adam'],
    ['alpha', 'rmsprop'],
    ['rho', 'adadelta'],
  ])('%s must be in [0, 1) (%s)', (key, name) => {
    expect(problem({ optimizer: { name, [key]: 1 } })).toBe(`optimizer.${key}: 1 must be in [0, 1)`);
    expect(problem({ optimizer: { name, [key]: -0.5 } })).toBe(`optimizer.${key}: -0.5 must be in [0, 1)`);
  });

  it('numbers must be finite (YAML .inf and .nan are rejected)', () => {
    expect(problem({ optimizer: { lr: Infinity } })).toBe('optimizer.lr: Infinity must be a finite number');
    expect(() => parseConfigText('optimizer: { clipNorm: .nan }\n', 'n.yaml')).toThrow(
      'optimizer.clipNorm: NaN must be a finite number',
    );
  });

  it('eps must be > 0', () => {
    expect(problem({ optimizer: { eps: 0 } })).toBe('optimizer.eps: 0 must be > 0');
  });

  it('weightDecay and clipNorm must be >= 0', () => {
    expect(problem({ optimizer: { weightDecay: -1 } })).toBe('optimizer.weightDecay: -1 must be >= 0');
    expect(problem({ optimizer: { clipNorm: -2 } })).toBe('optimizer.clipNorm: -2 must be >= 0');
  });

  it('dropout must be in [0, 1)', () => {
    expect(problem({ model: { dropout: 1 } })).toBe('model.dropout: 1 must be in [0, 1)');
  });

  it('hidden widths must be whole numbers >= 1', () => {
    expect(problem({ model: { hidden: [256, 0] } })).toBe('model.hidden[1]: 0 must be a whole number >= 1');
    expect(problem({ model: { hidden: [12.5] } })).toBe('model.hidden[0]: 12.5 must be a whole number >= 1');
    expect(problem({ model: { hidden: 64 } })).toBe('model.hidden: 64 must be a list of whole numbers >= 1');
  });

  it.each(['batchSize', 'microbatch', 'epochs'])('%s must be a whole number >= 1', (key) => {
    expect(problem({ [key]: 0 })).toBe(`${key}: 0 must be a whole number >= 1`);
    expect(problem({ [key]: 2.5 })).toBe(`${key}: 2.5 must be a whole number >= 1`);
    expect(problem({ [key]: '64' })).toBe(`${key}: "64" must be a whole number >= 1`);
  });

  it('seed and checkpointEvery must be whole numbers >= 0', () => {
    expect(problem({ seed: -1 })).toBe('seed: -1 must be a whole number >= 0');
    // (the checkpoint keys' own wording: their tests are the checkpoint's)
    expect(problem({ checkpointEvery: 0.5 })).toMatch(/^checkpointEvery: 0\.5 must be /);
  });

  it('split must be three fractions summing to 1 with a non-empty train part', () => {
    expect(problem({ data: { split: [0.5, 0.2] } })).toBe(
      'data.split: [0.5, 0.2] must be three fractions (train, validation, test) that sum to 1',
    );
    expect(problem({ data: { split: [0.5, 0.2, 0.2] } })).toContain(
      'data.split: [0.5, 0.2, 0.2] must be three fractions',
    );
    expect(problem({ data: { split: [1.5, -0.5, 0] } })).toContain(
      'data.split: [1.5, -0.5, 0] must be three fractions',
    );
    expect(problem({ data: { split: [0, 0.5, 0.5] } })).toBe(
      'data.split: [0, 0.5, 0.5] must have a train fraction > 0',
    );
    expect(parseRunConfig({ data: { split: [0.7, 0.2, 0.1] } }).data.split).toEqual([0.7, 0.2, 0.1]);
    expect(parseRunConfig({ data: { split: [1, 0, 0] } }).data.split).toEqual([1, 0, 0]);
  });

  it('idx needs images and labels; csv needs path and labelColumn', () => {
    expect(problems({ data: { name: 'idx' } })).toEqual([
      'data.images: missing; it is required when data.name is idx (the IDX images file)',
      'data.labels: missing; it is required when data.name is idx (the IDX labels file)',
    ]);
    expect(problem({ data: { name: 'csv', path: 'x.csv' } })).toBe(
      'data.labelColumn: missing; it is required when data.name is csv (the header of the label column)',
    );
    expect(parseRunConfig({ data: { name: 'csv', path: 'x.csv', labelColumn: 'species' } }).data).toMatchObject({
      name: 'csv',
      path: 'x.csv',
      labelColumn: 'species',
    });
  });

  it('GroupNorm groups must divide every hidden width', () => {
    expect(problem({ model: { norm: 'group', groups: 3 } })).toBe(
      'model.groups: 3 does not divide layer width 256 (model.hidden[0])',
    );
    expect(problem({ model: { norm: 'group', hidden: [64, 20] } })).toBe(
      'model.groups: 8 does not divide layer width 20 (model.hidden[1])',
    );
    expect(() => parseRunConfig({ model: { norm: 'group', groups: 3, hidden: [] } })).not.toThrow();
  });

  it('instance norm channels must divide every hidden width', () => {
    expect(problem({ model: { norm: 'instance', channels: 5, hidden: [20, 12] } })).toBe(
      'model.channels: 5 does not divide layer width 12 (model.hidden[1])',
    );
    // groups is not used by instance norm: an error (config-strict.test.ts), not a silent key
    expect(problem({ model: { norm: 'instance', groups: 3, channels: 4, hidden: [16] } })).toBe(
      'model.groups: 3 is not used by norm instance; it is used by norm group (remove it, or write norm: group)',
    );
  });

  it('a section that is not a mapping lists its keys', () => {
    expect(problem({ optimizer: 'adam' })).toMatch(/^optimizer: "adam" must be a mapping with the keys name, lr, /);
    expect(problem(42)).toMatch(/^\(top level\): 42 must be a mapping/);
  });
});

describe('unknown keys', () => {
  it('at the top level', () => {
    expect(problem({ epoch: 3 })).toMatch(
      /^epoch: unknown key \(allowed: seed, data, model, optimizer, batchSize, microbatch, epochs, checkpointEvery, (.+, )?onNonFinite\)$/,
    );
  });

  it('nested', () => {
    expect(problem({ model: { colour: 'red' } })).toBe(
      'model.colour: unknown key (allowed: hidden, activation, init, norm, groups, channels, dropout, dropoutMode, layers, loss)',
    );
    expect(problem({ optimizer: { schedule: { name: 'step', step_size: 2 } } })).toBe(
      'optimizer.schedule.step_size: unknown key (allowed: name, stepSize, gamma, minLr, warmupSteps)',
    );
  });
});

describe('several problems', () => {
  it('are all reported together, one per line', () => {
    const lines = problems({
      seed: 'x',
      colour: 1,
      model: { activation: 'relux', dropout: 1, norm: 'group', groups: 3 },
      optimizer: { lr: -0.1, beta1: 1 },
      batchSize: 0,
      data: { split: [0.5, 0.2] },
    });
    expect(lines).toHaveLength(9);
    expect(lines).toEqual(
      expect.arrayContaining([
        'seed: "x" must be a whole number >= 0',
        expect.stringMatching(/^colour: unknown key/),
        'model.activation: "relux" is not one of relu, leaky_relu, elu, selu, gelu, sigmoid, tanh, softplus, silu',
        'model.dropout: 1 must be in [0, 1)',
        'model.groups: 3 does not divide layer width 256 (model.hidden[0])',
        'optimizer.lr: -0.1 must be >= 0',
        'optimizer.beta1: 1 must be in [0, 1)',
        'batchSize: 0 must be a whole number >= 1',
        'data.split: [0.5, 0.2] must be three fractions (train, validation, test) that sum to 1',
      ]),
    );
  });
});

describe('config text', () => {
  it('a YAML syntax error names the file, line and column', () => {
    let err: unknown;
    try {
      parseConfigText('seed: 1\nmodel: { hidden: [256, 128 }\n', 'run.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('CONFIG_INVALID');
    expect((err as UserError).message).toMatch(/^run\.yaml: line 2, column \d+: /);
  });

  it('a duplicate YAML key is an error', () => {
    expect(() => parseConfigText('seed: 1\nseed: 2\n', 'dup.yaml')).toThrow(/^dup\.yaml: line 2, column 1: /);
  });

  it('a JSON syntax error names the file and where', () => {
    expect(() => parseConfigText('{\n  "seed": 1,\n}', 'run.json')).toThrow(/^run\.json: line 3, column 1: /);
  });

  it('validation problems in a file are reported like parseRunConfig', () => {
    expect(() => parseConfigText('optimizer:\n  lr: -0.1\n', 'run.yaml')).toThrow('optimizer.lr: -0.1 must be >= 0');
  });
});

describe('formatPath', () => {
  it('joins keys with dots and indexes with brackets', () => {
    expect(formatPath(['model', 'layers', 2, 'type'])).toBe('model.layers[2].type');
    expect(formatPath(['model', 'hidden', 0])).toBe('model.hidden[0]');
    expect(formatPath(['seed'])).toBe('seed');
  });
});

describe('the resolved config is valid input', () => {
  // a run's config.json, and the config a coordinator sends its workers, parse back to itself
  it.each(['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adadelta', 'adam', 'adamw', 'nadam'])('%s', (name) => {
    const once = parseRunConfig({ optimizer: { name }, model: { norm: 'group', groups: 4, hidden: [8] } });
    expect(parseRunConfig(JSON.parse(JSON.stringify(once)))).toEqual(once);
  });
});
