// A model: an ordered list of layers over one flat parameter array and one flat buffer array
// (BN running statistics). The flat arrays are what the optimizer updates, what goes on the
// wire and what a checkpoint stores.
import type { LayerSpec, ModelConfig } from '../config-types.js';
import { UserError } from '../errors.js';
import { Dense } from './dense.js';
import { Activation, Dropout } from './elementwise.js';
import { createKernels, type Kernels } from '../kernels/index.js';
import type { Layer } from './layer.js';
import { BatchNorm, GroupwiseNorm } from './norms.js';

/** The compact MLP form, expanded: for each width Dense → norm → activation → dropout,
 *  then a final Dense to the number of classes. */
export function expandCompact(cfg: ModelConfig, classes: number): LayerSpec[] {
  const specs: LayerSpec[] = [];
  for (const units of cfg.hidden) {
    specs.push({ type: 'dense', units, init: cfg.init });
    if (cfg.norm === 'batch') specs.push({ type: 'batchnorm' });
    else if (cfg.norm === 'layer') specs.push({ type: 'layernorm' });
    else if (cfg.norm === 'group') specs.push({ type: 'groupnorm', groups: cfg.groups });
    else if (cfg.norm === 'instance') specs.push({ type: 'instancenorm', channels: cfg.channels });
    specs.push({ type: 'activation', name: cfg.activation });
    if (cfg.dropout > 0) specs.push({ type: 'dropout', rate: cfg.dropout, mode: cfg.dropoutMode });
  }
  specs.push({ type: 'dense', units: classes, init: cfg.init });
  return specs;
}

function makeLayer(spec: LayerSpec, width: number, where: string): Layer {
  const divides = (k: number, key: string): void => {
    if (width % k !== 0) {
      throw new UserError('CONFIG_INVALID', `${where}.${key}: ${k} does not divide the layer width ${width}`);
    }
  };
  switch (spec.type) {
    case 'dense':
      return new Dense(width, spec.units, spec.init);
    case 'activation':
      return new Activation(width, spec.name);
    case 'dropout':
      return new Dropout(width, spec.rate, spec.mode);
    case 'batchnorm':
      return new BatchNorm(width);
    case 'layernorm':
      return new GroupwiseNorm('layernorm', width, 1, width);
    case 'groupnorm':
      divides(spec.groups, 'groups');
      return new GroupwiseNorm('groupnorm', width, spec.groups, width);
    case 'instancenorm':
      divides(spec.channels, 'channels');
      return new GroupwiseNorm('instancenorm', width, spec.channels, spec.channels);
  }
}

export class Model {
  readonly layers: Layer[];
  readonly params: Float32Array;
  readonly buffers: Float32Array;

  /** `k`: the kernels (and memory) of this model, its slots and its optimizer */
  constructor(
    readonly specs: LayerSpec[],
    readonly inF: number,
    readonly classes: number,
    readonly loss: ModelConfig['loss'],
    readonly k: Kernels = createKernels(),
  ) {
    const layers: Layer[] = [];
    let width = inF;
    let p = 0;
    let b = 0;
    specs.forEach((spec, i) => {
      const where = `model.layers[${i}]`;
      const layer = makeLayer(spec, width, where);
      layer.index = i;
      layer.paramOffset = p;
      layer.bufferOffset = b;
      p += layer.paramSize;
      b += layer.bufferSize;
      width = layer.outF;
      layers.push(layer);
    });
    if (width !== classes) {
      throw new UserError(
        'CONFIG_INVALID',
        `model.layers: the last layer has width ${width} but the data has ${classes} classes; end the list with { type: dense, units: ${classes} }`,
      );
    }
    this.layers = layers;
    this.params = k.alloc(p);
    this.buffers = k.alloc(b);
    for (const l of layers) l.bind(this.params, this.buffers, k);
  }

  static fromConfig(cfg: ModelConfig, inF: number, classes: number, k?: Kernels): Model {
    return new Model(cfg.layers ?? expandCompact(cfg, classes), inF, classes, cfg.loss, k);
  }

  /** initialize every parameter and buffer from the seed */
  reset(seed: number): this {
    for (const l of this.layers) l.reset(seed);
    return this;
  }

  get paramCount(): number {
    return this.params.length;
  }

  /** parameter and buffer tensors in model order: a layer's parameters, then its buffers */
  tensors(): Array<{ name: string; data: Float32Array; trainable: boolean }> {
    const out: Array<{ name: string; data: Float32Array; trainable: boolean }> = [];
    for (const l of this.layers) {
      let o = 0;
      for (const [name, n] of l.paramShapes()) {
        out.push({ name: `${l.index}.${name}`, data: l.params.subarray(o, o + n), trainable: true });
        o += n;
      }
      o = 0;
      for (const [name, n] of l.bufferShapes()) {
        out.push({ name: `${l.index}.${name}`, data: l.buffers.subarray(o, o + n), trainable: false });
        o += n;
      }
    }
    return out;
  }

  /** every parameter and BN running statistic in model order as little-endian float32:
   *  the bytes whose sha256 is a run's `weightsSha256` */
  stateBytes(): Uint8Array {
    const ts = this.tensors();
    const total = ts.reduce((s, t) => s + t.data.length, 0);
    const out = new Uint8Array(total * 4);
    const view = new DataView(out.buffer);
    let o = 0;
    for (const t of ts) for (let i = 0; i < t.data.length; i++, o += 4) view.setFloat32(o, t.data[i]!, true);
    return out;
  }

  describe(): string {
    return [this.inF, ...this.layers.filter((l) => l.kind === 'dense').map((l) => l.outF)].join('-');
  }
}
