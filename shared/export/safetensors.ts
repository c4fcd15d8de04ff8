// A trained model as safetensors (https://github.com/huggingface/safetensors, "Format"):
// 8 bytes of header length N (unsigned little-endian 64-bit), N bytes of UTF-8 JSON (padded
// with spaces to a multiple of 8), then the tensors' bytes, back to back, in the header's order.
// Each JSON entry is `name: { dtype, shape, data_offsets: [begin, end) }` (offsets into the
// bytes after the header); `__metadata__` maps strings to strings.
//
// Names and shapes are those of the state_dict of the equivalent torch.nn.Sequential, one index
// per gradwire layer (README.md beside this file): `i.weight` [out, in] and `i.bias` [out] of a
// Linear (gradwire stores W as [out × in] already), `i.weight`, `i.bias`, `i.running_mean`,
// `i.running_var` (F32) and `i.num_batches_tracked` (I64, shape []) of a BatchNorm1d, `i.weight`
// and `i.bias` of the other norms. Every float32 is the state's, bit for bit. num_batches_tracked
// counts the optimizer steps that updated the running statistics (steps not skipped), as
// PyTorch counts training batches; PyTorch does not read it when `momentum` is set.
import type { RunConfig } from '../config-types.js';
import type { TrainerState } from '../engine/trainer.js';
import { exportModel, type ExportOptions } from './layout.js';

interface Entry {
  name: string;
  dtype: 'F32' | 'I64';
  shape: number[];
  bytes: Uint8Array;
}

function f32Bytes(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const v = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) v.setFloat32(i * 4, a[i]!, true);
  return out;
}

function i64Bytes(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(n), true);
  return out;
}

/** safetensors bytes: one tensor per parameter and running statistic, PyTorch nn.Sequential naming */
export function exportSafetensors(config: RunConfig, state: TrainerState, opts: ExportOptions = {}): Uint8Array {
  const m = exportModel(config, state, opts);
  const entries: Entry[] = [];
  for (const layer of m.model.layers) {
    const i = layer.index;
    let o = 0;
    for (const [name, n] of layer.paramShapes()) {
      const data = layer.params.subarray(o, o + n);
      o += n;
      const shape = layer.kind === 'dense' && name === 'weight' ? [layer.outF, layer.inF] : [n];
      entries.push({ name: `${i}.${name}`, dtype: 'F32', shape, bytes: f32Bytes(data) });
    }
    o = 0;
    for (const [name, n] of layer.bufferShapes()) {
      entries.push({
        name: `${i}.${name}`,
        dtype: 'F32',
        shape: [n],
        bytes: f32Bytes(layer.buffers.subarray(o, o + n)),
      });
      o += n;
    }
    if (layer.kind === 'batchnorm') {
      entries.push({ name: `${i}.num_batches_tracked`, dtype: 'I64', shape: [], bytes: i64Bytes(m.bnUpdates) });
    }
  }
  const metadata: Record<string, string> = {
    format: 'pt',
    producer: 'gradwire',
    gradwire_version: opts.producerVersion ?? 'unknown',
    layers: JSON.stringify(m.specs),
    features: String(m.features),
    classes: String(m.classes),
    loss: config.model.loss,
  };
  if (m.classNames) metadata.class_names = JSON.stringify(m.classNames);
  const header: Record<string, unknown> = { __metadata__: metadata };
  // the header lists the tensors in model order; in the data the 8-byte ones come first, so
  // that every tensor starts at a multiple of its element size (as the safetensors library lays
  // them out: by alignment, largest first)
  const layout = [...entries.filter((e) => e.dtype === 'I64'), ...entries.filter((e) => e.dtype !== 'I64')];
  const offsets = new Map<Entry, number>();
  let offset = 0;
  for (const e of layout) {
    offsets.set(e, offset);
    offset += e.bytes.length;
  }
  for (const e of entries) {
    const begin = offsets.get(e)!;
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [begin, begin + e.bytes.length] };
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const e of layout) {
    out.set(e.bytes, at);
    at += e.bytes.length;
  }
  return out;
}
