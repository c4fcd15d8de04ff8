// Building a model from config: the compact MLP form and the explicit layer list.
import { describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../shared/config.js';
import { Model, expandCompact } from '../../shared/nn/model.js';
import '../../shared/node/kernels-wasm.js';
import { userError } from '../helpers/errors.js';

describe('model from config', () => {
  it('the compact form expands to Dense → norm → activation → dropout per width, then Dense to the classes', () => {
    const cfg = parseRunConfig({
      model: { hidden: [256, 128], activation: 'relu', init: 'he_normal', norm: 'batch', dropout: 0.2 },
    });
    expect(expandCompact(cfg.model, 10).map((l) => l.type)).toEqual([
      'dense',
      'batchnorm',
      'activation',
      'dropout',
      'dense',
      'batchnorm',
      'activation',
      'dropout',
      'dense',
    ]);
    const m = Model.fromConfig(cfg.model, 784, 10);
    // 784·256+256 + 2·256 + 256·128+128 + 2·128 + 128·10+10 parameters; 2·256 + 2·128 BN buffers
    expect(m.paramCount).toBe(784 * 256 + 256 + 512 + 256 * 128 + 128 + 256 + 128 * 10 + 10);
    expect(m.buffers.length).toBe(2 * 256 + 2 * 128);
    expect(m.describe()).toBe('784-256-128-10');
  });

  it('biases start at zero, BN γ at one, running variance at one', () => {
    const cfg = parseRunConfig({ model: { hidden: [8], norm: 'batch' } });
    const m = Model.fromConfig(cfg.model, 4, 3).reset(1);
    const t = Object.fromEntries(m.tensors().map((x) => [x.name, Array.from(x.data)]));
    expect(t['0.bias']).toEqual(Array(8).fill(0));
    expect(t['1.weight']).toEqual(Array(8).fill(1));
    expect(t['1.bias']).toEqual(Array(8).fill(0));
    expect(t['1.running_mean']).toEqual(Array(8).fill(0));
    expect(t['1.running_var']).toEqual(Array(8).fill(1));
  });

  it('the explicit layer list builds exactly the listed layers', () => {
    const cfg = parseRunConfig({
      model: {
        layers: [
          { type: 'dense', units: 12, init: 'he_uniform' },
          { type: 'groupnorm', groups: 4 },
          { type: 'activation', name: 'gelu' },
          { type: 'dropout', rate: 0.1 },
          { type: 'dense', units: 12 },
          { type: 'instancenorm', channels: 3 },
          { type: 'layernorm' },
          { type: 'activation', name: 'selu' },
          { type: 'dense', units: 3 },
        ],
      },
    });
    const m = Model.fromConfig(cfg.model, 5, 3);
    expect(m.layers.map((l) => l.kind)).toEqual([
      'dense',
      'groupnorm',
      'activation',
      'dropout',
      'dense',
      'instancenorm',
      'layernorm',
      'activation',
      'dense',
    ]);
    // instance norm: γ, β per channel (3); group norm: per feature (12)
    expect(m.layers[5]!.paramSize).toBe(6);
    expect(m.layers[1]!.paramSize).toBe(24);
  });

  it('an explicit list that does not end at the number of classes is an error that says what to add', () => {
    const cfg = parseRunConfig({ model: { layers: [{ type: 'dense', units: 7 }] } });
    expect(userError(() => Model.fromConfig(cfg.model, 4, 3)).message).toBe(
      'model.layers: the last layer has width 7 but the data has 3 classes; end the list with { type: dense, units: 3 }',
    );
  });
});
