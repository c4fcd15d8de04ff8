// The safetensors export, read back by a reader written from the format's description
// (test/helpers/safetensors.ts: 8-byte little-endian header length, a JSON header of dtype /
// shape / data_offsets per tensor and a `__metadata__` of strings, then the data): names and shapes as the state_dict of the
// equivalent torch.nn.Sequential, every float32 the checkpoint's bit for bit.
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../shared/checkpoint.js';
import { parseRunConfig } from '../../shared/config.js';
import type { RunConfig } from '../../shared/config-types.js';
import { iris } from '../../shared/data/iris.js';
import { Trainer, type TrainerState } from '../../shared/engine/trainer.js';
import { exportSafetensors } from '../../shared/export/index.js';
import '../../shared/node/kernels-wasm.js';
import { userError } from '../helpers/errors.js';
import { readSafetensors, type Tensor } from '../helpers/safetensors.js';

const le = (a: Float32Array): Uint8Array => {
  const out = new Uint8Array(a.length * 4);
  const v = new DataView(out.buffer);
  a.forEach((x, i) => v.setFloat32(i * 4, x, true));
  return out;
};

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function trained(raw: Record<string, unknown>, steps = 6): { cfg: RunConfig; state: TrainerState } {
  const cfg = parseRunConfig({ seed: 2, batchSize: 16, microbatch: 8, data: { name: 'iris' }, ...raw });
  const t = new Trainer(cfg, iris());
  for (let i = 0; i < steps; i++) t.trainStep();
  const ckpt = decodeCheckpoint(encodeCheckpoint(cfg, t.state()), 'test.gwc');
  return { cfg: ckpt.config, state: ckpt.state };
}

/** the F32 tensors that are not running statistics, in header order, are the parameters; the
 *  running statistics are the buffers: bit for bit */
function expectBitForBit(tensors: Map<string, Tensor>, state: TrainerState): void {
  const f32 = [...tensors.entries()].filter(([, t]) => t.dtype === 'F32');
  const isBuffer = (name: string): boolean => /\.running_(mean|var)$/.test(name);
  expect(Buffer.from(concat(f32.filter(([n]) => !isBuffer(n)).map(([, t]) => t.bytes))).equals(le(state.params))).toBe(
    true,
  );
  expect(Buffer.from(concat(f32.filter(([n]) => isBuffer(n)).map(([, t]) => t.bytes))).equals(le(state.buffers))).toBe(
    true,
  );
}

describe('safetensors export', () => {
  it('compact MLP with batch norm and dropout: nn.Sequential names and shapes, the checkpoint bit for bit', () => {
    const { cfg, state } = trained({ model: { hidden: [8, 6], norm: 'batch', dropout: 0.2, activation: 'gelu' } });
    const { metadata, tensors } = readSafetensors(exportSafetensors(cfg, state, { producerVersion: '9.9.9' }));
    // Linear(4,8) BatchNorm1d(8) GELU Dropout Linear(8,6) BatchNorm1d(6) GELU Dropout Linear(6,3)
    const bn = (i: number, f: number): Array<[string, string, number[]]> => [
      [`${i}.weight`, 'F32', [f]],
      [`${i}.bias`, 'F32', [f]],
      [`${i}.running_mean`, 'F32', [f]],
      [`${i}.running_var`, 'F32', [f]],
      [`${i}.num_batches_tracked`, 'I64', []],
    ];
    expect([...tensors.entries()].map(([n, t]) => [n, t.dtype, t.shape])).toEqual([
      ['0.weight', 'F32', [8, 4]],
      ['0.bias', 'F32', [8]],
      ...bn(1, 8),
      ['4.weight', 'F32', [6, 8]],
      ['4.bias', 'F32', [6]],
      ...bn(5, 6),
      ['8.weight', 'F32', [3, 6]],
      ['8.bias', 'F32', [3]],
    ]);
    expectBitForBit(tensors, state);
    // num_batches_tracked: the steps that updated the running statistics
    for (const i of [1, 5]) {
      const b = tensors.get(`${i}.num_batches_tracked`)!.bytes;
      expect(new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true)).toBe(6n);
    }
    // Linear's weight is [out, in], row j the weights into unit j (y = x·Wᵀ + b): as gradwire stores it
    const w = tensors.get('0.weight')!.bytes;
    expect(new DataView(w.buffer, w.byteOffset).getFloat32(4 * (1 * 4 + 2), true)).toBe(state.params[1 * 4 + 2]);
    expect(metadata).toMatchObject({
      gradwire_version: '9.9.9',
      features: '4',
      classes: '3',
      class_names: JSON.stringify(['setosa', 'versicolor', 'virginica']),
      loss: 'cross_entropy',
    });
    expect(JSON.parse(metadata.layers!).map((l: { type: string }) => l.type)).toEqual([
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
  });

  it('an explicit layer list with every norm: one index per layer, InstanceNorm γ/β per channel', () => {
    const layers = [
      { type: 'dense', units: 8 },
      { type: 'layernorm' },
      { type: 'activation', name: 'tanh' },
      { type: 'dense', units: 6 },
      { type: 'groupnorm', groups: 3 },
      { type: 'dropout', rate: 0.1, mode: 'scale_at_test' },
      { type: 'dense', units: 4 },
      { type: 'instancenorm', channels: 2 },
      { type: 'dense', units: 3 },
    ];
    const { cfg, state } = trained({ model: { layers } });
    const { metadata, tensors } = readSafetensors(exportSafetensors(cfg, state));
    expect([...tensors.entries()].map(([n, t]) => [n, t.shape])).toEqual([
      ['0.weight', [8, 4]],
      ['0.bias', [8]],
      ['1.weight', [8]],
      ['1.bias', [8]],
      ['3.weight', [6, 8]],
      ['3.bias', [6]],
      ['4.weight', [6]],
      ['4.bias', [6]],
      ['6.weight', [4, 6]],
      ['6.bias', [4]],
      ['7.weight', [2]],
      ['7.bias', [2]],
      ['8.weight', [3, 4]],
      ['8.bias', [3]],
    ]);
    expectBitForBit(tensors, state);
    expect(metadata.gradwire_version).toBe('unknown');
    expect(JSON.parse(metadata.layers!)).toEqual(cfg.model.layers);
  });

  it('the shape of a csv model: from the layer list, from the classes given, or an error that asks for it', () => {
    const { cfg: irisCfg, state } = trained({ model: { hidden: [5] } }, 1);
    const csv = { ...irisCfg, data: { ...irisCfg.data, name: 'csv' as const } };
    // compact form, neither features nor classes known: 5·(F+1) + C·6 = 43 has other solutions
    expect(userError(() => exportSafetensors(csv, state))).toMatchObject({ code: 'CHECKPOINT_INVALID' });
    expect(userError(() => exportSafetensors(csv, state)).message).toMatch(/pass it to the export/);
    const withClasses = readSafetensors(exportSafetensors(csv, state, { classes: 3 }));
    expect(withClasses.metadata.features).toBe('4');
    expect(withClasses.metadata.class_names).toBeUndefined();
    const withFeatures = readSafetensors(exportSafetensors(csv, state, { features: 4, classNames: ['a', 'b', 'c'] }));
    expect(withFeatures.metadata).toMatchObject({ classes: '3', class_names: '["a","b","c"]' });
    // a layer list names the classes (its last Dense): the features follow from the parameter count
    const layers = [
      { type: 'dense' as const, units: 5, init: 'he_normal' as const },
      { type: 'dense' as const, units: 3, init: 'he_normal' as const },
    ];
    const listed = { ...csv, model: { ...csv.model, layers } };
    expect(readSafetensors(exportSafetensors(listed, state)).metadata.features).toBe('4');
  });

  it('a state that does not fit the config is refused, naming both sizes', () => {
    const { cfg, state } = trained({ model: { hidden: [5] } }, 1);
    const other = parseRunConfig({ data: { name: 'iris' }, model: { hidden: [6] } });
    const e = userError(() => exportSafetensors(other, state));
    expect(e).toMatchObject({ code: 'CHECKPOINT_INVALID' });
    expect(e.message).toMatch(/43 parameters/);
    expect(userError(() => exportSafetensors(cfg, state, { classNames: ['x'] }))).toMatchObject({ code: 'USAGE' });
  });
});
