// No silent config: a key that the chosen optimizer, schedule or norm does not read is an error
// naming the key, its value, who reads it and what to write instead; the resolved config (a
// run's config.json) records what runs — the keys the run reads, with the values it uses.
import { describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../shared/config.js';
import { configProblems } from '../helpers/errors.js';

/** the CONFIG_INVALID message lines that parsing `input` produces */
const problems = configProblems;

/** Which optimizer reads which hyperparameter (PyTorch's torch.optim signatures, as gradwire
 *  implements them: its rmsprop has no momentum, its adagrad no lr_decay). */
const READS: Record<string, string[]> = {
  sgd: [],
  momentum: ['momentum'],
  nesterov: ['momentum'],
  adagrad: ['eps'],
  rmsprop: ['alpha', 'eps'],
  adadelta: ['rho', 'eps'],
  adam: ['beta1', 'beta2', 'eps'],
  adamw: ['beta1', 'beta2', 'eps'],
  nadam: ['beta1', 'beta2', 'eps', 'momentumDecay'],
};
const USERS: Record<string, string> = {
  momentum: 'momentum and nesterov',
  beta1: 'adam, adamw and nadam',
  beta2: 'adam, adamw and nadam',
  eps: 'adagrad, rmsprop, adadelta, adam, adamw and nadam',
  alpha: 'rmsprop',
  rho: 'adadelta',
  momentumDecay: 'nadam',
};
/** a valid value of each key that is not its default, so it cannot pass for one */
const VALUE: Record<string, number> = {
  momentum: 0.5,
  beta1: 0.8,
  beta2: 0.99,
  eps: 1e-7,
  alpha: 0.9,
  rho: 0.95,
  momentumDecay: 0.01,
};

const unused: Array<[string, string]> = [];
for (const [name, reads] of Object.entries(READS)) {
  for (const key of Object.keys(USERS)) if (!reads.includes(key)) unused.push([name, key]);
}

describe('an optimizer key the optimizer does not read', () => {
  it("sgd with momentum: PyTorch's SGD(momentum=…) is name: momentum here", () => {
    expect(problems({ optimizer: { name: 'sgd', momentum: 0.5 } })).toEqual([
      "optimizer.momentum: 0.5 is not used by sgd; it is used by momentum and nesterov (for PyTorch's SGD(momentum=0.5) write name: momentum (nesterov=True: name: nesterov), for plain SGD remove it)",
    ]);
  });

  it('with no optimizer.name, the default (adam) is named as the default', () => {
    expect(problems({ optimizer: { momentum: 0.9 } })).toEqual([
      'optimizer.momentum: 0.9 is not used by adam (the default optimizer.name); it is used by momentum and nesterov (remove it, or choose an optimizer.name that uses it)',
    ]);
  });

  it.each(unused.filter(([name, key]) => !(name === 'sgd' && key === 'momentum')))(
    '%s with %s is an error naming the key, the value and who reads it',
    (name, key) => {
      expect(problems({ optimizer: { name, [key]: VALUE[key] } })).toEqual([
        `optimizer.${key}: ${VALUE[key]} is not used by ${name}; it is used by ${USERS[key]} (remove it, or choose an optimizer.name that uses it)`,
      ]);
    },
  );

  it.each(Object.entries(READS).flatMap(([name, reads]) => reads.map((key) => [name, key])))(
    '%s reads %s: accepted and recorded as given',
    (name, key) => {
      const o = parseRunConfig({ optimizer: { name, [key]: VALUE[key] } }).optimizer as unknown as Record<
        string,
        unknown
      >;
      expect(o[key]).toBe(VALUE[key]);
    },
  );

  it('several unused keys are reported together, one line each', () => {
    expect(problems({ optimizer: { name: 'sgd', beta1: 0.8, rho: 0.95 } })).toEqual([
      'optimizer.beta1: 0.8 is not used by sgd; it is used by adam, adamw and nadam (remove it, or choose an optimizer.name that uses it)',
      'optimizer.rho: 0.95 is not used by sgd; it is used by adadelta (remove it, or choose an optimizer.name that uses it)',
    ]);
  });
});

describe('adamw and its decay', () => {
  it('decay: l2 with adamw is an error: adamw is Adam with decoupled decay', () => {
    expect(problems({ optimizer: { name: 'adamw', decay: 'l2' } })).toEqual([
      'optimizer.decay: "l2" is not what adamw does: adamw always decouples its weight decay (θ -= lr·λθ before the update); for Adam with L2 decay (g += λθ) write name: adam, decay: l2',
    ]);
  });

  it('adamw records decay: decoupled, as it runs, given or not', () => {
    expect(parseRunConfig({ optimizer: { name: 'adamw' } }).optimizer.decay).toBe('decoupled');
    expect(parseRunConfig({ optimizer: { name: 'adamw', decay: 'decoupled' } }).optimizer.decay).toBe('decoupled');
  });

  it('adam takes either decay', () => {
    expect(parseRunConfig({ optimizer: { name: 'adam', decay: 'l2', weightDecay: 0.1 } }).optimizer.decay).toBe('l2');
    expect(parseRunConfig({ optimizer: { name: 'adam', decay: 'decoupled' } }).optimizer.decay).toBe('decoupled');
  });
});

describe('a schedule key the schedule does not read', () => {
  it.each([
    ['constant', 'gamma', 0.5, 'step and exponential'],
    ['constant', 'stepSize', 3, 'step'],
    ['constant', 'minLr', 0.001, 'cosine'],
    ['cosine', 'gamma', 0.5, 'step and exponential'],
    ['cosine', 'stepSize', 3, 'step'],
    ['exponential', 'stepSize', 3, 'step'],
    ['exponential', 'minLr', 0.001, 'cosine'],
    ['step', 'minLr', 0.001, 'cosine'],
  ])('%s with %s is an error', (name, key, value, users) => {
    expect(problems({ optimizer: { schedule: { name, [key]: value } } })).toEqual([
      `optimizer.schedule.${key}: ${value} is not used by the ${name} schedule; it is used by ${users} (remove it, or choose an optimizer.schedule.name that uses it)`,
    ]);
  });

  it('with no schedule name, the default (constant) is named as the default', () => {
    expect(problems({ optimizer: { schedule: { gamma: 0.5 } } })).toEqual([
      'optimizer.schedule.gamma: 0.5 is not used by the constant schedule (the default optimizer.schedule.name); it is used by step and exponential (remove it, or choose an optimizer.schedule.name that uses it)',
    ]);
  });

  it('warmupSteps goes with every schedule', () => {
    for (const name of ['constant', 'step', 'exponential', 'cosine']) {
      expect(parseRunConfig({ optimizer: { schedule: { name, warmupSteps: 5 } } }).optimizer.schedule.warmupSteps).toBe(
        5,
      );
    }
  });
});

describe('a norm key the norm does not read', () => {
  it.each([
    ['batch', 'groups', 4, 'group'],
    ['layer', 'groups', 4, 'group'],
    ['instance', 'groups', 4, 'group'],
    ['batch', 'channels', 4, 'instance'],
    ['group', 'channels', 4, 'instance'],
  ])('norm %s with %s is an error', (norm, key, value, user) => {
    expect(problems({ model: { norm, [key]: value, hidden: [16] } })).toEqual([
      `model.${key}: ${value} is not used by norm ${norm}; it is used by norm ${user} (remove it, or write norm: ${user})`,
    ]);
  });

  it('with no norm, the default (none) is named as the default', () => {
    expect(problems({ model: { groups: 4 } })).toEqual([
      'model.groups: 4 is not used by norm none (the default model.norm); it is used by norm group (remove it, or write norm: group)',
    ]);
  });
});

describe('a dropout mode without dropout', () => {
  it('scale_at_test with dropout 0 (or none given) is an error: there is no dropout layer to scale', () => {
    const line =
      'model.dropoutMode: "scale_at_test" is not used with model.dropout 0 (there is no dropout layer); set model.dropout to a rate > 0, or remove it';
    expect(problems({ model: { dropoutMode: 'scale_at_test' } })).toEqual([line]);
    expect(problems({ model: { dropout: 0, dropoutMode: 'scale_at_test' } })).toEqual([line]);
  });

  it('with a rate, or with a layer list (the default mode of its dropout layers), it is used', () => {
    expect(parseRunConfig({ model: { dropout: 0.5, dropoutMode: 'scale_at_test' } }).model.dropoutMode).toBe(
      'scale_at_test',
    );
    const layers = [
      { type: 'dense', units: 4 },
      { type: 'dropout', rate: 0.5 },
    ];
    expect(parseRunConfig({ model: { dropoutMode: 'scale_at_test', layers } }).model.layers![1]).toEqual({
      type: 'dropout',
      rate: 0.5,
      mode: 'scale_at_test',
    });
  });

  it('inverted, the default, is what a model without dropout does anyway: accepted (a resolved config has it)', () => {
    const c = parseRunConfig({});
    expect(c.model.dropoutMode).toBe('inverted');
    expect(parseRunConfig(structuredClone(c))).toEqual(c);
  });

  it('a sweep trial that sets dropout to 0 drops the mode, even when the mode is a parameter too', () => {
    const base = parseRunConfig({ model: { dropout: 0.5, dropoutMode: 'scale_at_test' } });
    const trial = structuredClone(base);
    trial.model.dropout = 0;
    const c = parseRunConfig(trial, { unusedKeys: 'drop', keep: ['model.dropout', 'model.dropoutMode'] });
    expect(c.model).toEqual(parseRunConfig({}).model);
  });
});

describe('the resolved config records what runs', () => {
  const COMMON = ['name', 'lr', 'weightDecay', 'decay', 'clipNorm', 'schedule'];
  it.each(Object.entries(READS))('%s: exactly the keys it reads, besides the common ones', (name, reads) => {
    const o = parseRunConfig({ optimizer: { name } }).optimizer;
    expect(Object.keys(o).sort()).toEqual([...COMMON, ...reads].sort());
  });

  it.each([
    ['constant', {}],
    ['step', { stepSize: 1, gamma: 0.1 }],
    ['exponential', { gamma: 0.95 }],
    ['cosine', { minLr: 0 }],
  ])('the %s schedule: its own keys with their defaults, and warmupSteps', (name, own) => {
    expect(parseRunConfig({ optimizer: { schedule: name } }).optimizer.schedule).toEqual({
      name,
      ...own,
      warmupSteps: 0,
    });
  });

  it('the norm: groups only for group, channels only for instance', () => {
    const model = (norm: string) =>
      parseRunConfig({ model: { norm, hidden: [16] } }).model as unknown as Record<string, unknown>;
    for (const norm of ['none', 'batch', 'layer']) {
      expect(model(norm)).not.toHaveProperty('groups');
      expect(model(norm)).not.toHaveProperty('channels');
    }
    expect(model('group')).toMatchObject({ norm: 'group', groups: 8 });
    expect(model('group')).not.toHaveProperty('channels');
    expect(model('instance')).toMatchObject({ norm: 'instance', channels: 8 });
    expect(model('instance')).not.toHaveProperty('groups');
  });

  it('with an explicit layer list the compact norm keys are not checked (CONFIG.md: not used)', () => {
    expect(() => parseRunConfig({ model: { groups: 3, layers: [{ type: 'dense', units: 4 }] } })).not.toThrow();
  });
});

describe("unusedKeys: 'drop' (a config derived from a resolved one by changing its choosing key)", () => {
  it('a resolved momentum run switched to adam drops momentum and takes adam defaults', () => {
    const base = parseRunConfig({ optimizer: { name: 'momentum', momentum: 0.5 }, model: { norm: 'group' } });
    const trial = structuredClone(base) as unknown as { optimizer: { name: string }; model: { norm: string } };
    trial.optimizer.name = 'adam';
    trial.model.norm = 'batch';
    expect(() => parseRunConfig(trial)).toThrow(/optimizer\.momentum: 0\.5 is not used by adam/);
    const c = parseRunConfig(trial, { unusedKeys: 'drop' });
    expect(c.optimizer).toEqual(parseRunConfig({ optimizer: { name: 'adam', lr: 0.01 } }).optimizer);
    expect(c.model).toEqual(parseRunConfig({ model: { norm: 'batch' } }).model);
  });

  it('keep: the keys set on purpose (a sweep parameter) stay errors when unused', () => {
    const base = parseRunConfig({ optimizer: { name: 'adam' } });
    const trial = structuredClone(base) as unknown as { optimizer: Record<string, unknown> };
    trial.optimizer.momentum = 0.5; // a parameter that adam does not read
    expect(() => parseRunConfig(trial, { unusedKeys: 'drop', keep: ['optimizer.momentum'] })).toThrow(
      /^optimizer\.momentum: 0\.5 is not used by adam; /,
    );
  });

  it('drops nothing else: a wrong value is still an error', () => {
    expect(() => parseRunConfig({ optimizer: { name: 'sgd', lr: -1, beta1: 0.5 } }, { unusedKeys: 'drop' })).toThrow(
      'optimizer.lr: -1 must be >= 0',
    );
  });
});
