// A trained model as an ONNX model (IR version 8, default-domain opset 17), encoded with the
// ONNX messages of onnx-proto (protobufjs). The graph computes what the model computes in eval
// mode, on the raw feature rows the dataset parsers produce (gradwire scales nothing beyond
// them: IDX pixels are already ÷255 and MNIST's in [0, 1], CSV and synthetic features are used
// as they are):
//   input  "features"      float32 [N, F] (N dynamic)
//   output "probabilities" float32 [N, C]: Softmax of the last Dense layer's output
//   output "logits"        float32 [N, C]: the last Dense layer's output
// Per layer (README.md beside this file has the table): Dense → Gemm (transB = 1, W [out, in]);
// BatchNorm → BatchNormalization with the running statistics; LayerNorm → LayerNormalization;
// GroupNorm(G) → Reshape [N, G, F/G], InstanceNormalization (γ = 1, β = 0), Reshape [N, F],
// Mul γ, Add β; InstanceNorm(C) → Reshape [N, C, F/C], InstanceNormalization (γ, β), Reshape
// [N, F]; activations by their ONNX operator (GELU as 0.5·x·(1 + Erf(x/√2)), SiLU as x·Sigmoid(x));
// inverted Dropout → nothing; scale_at_test Dropout → Mul (1 − p). Norms use eps 1e-5.
import onnxProto from 'onnx-proto';
import type { ActivationName, RunConfig } from '../config-types.js';
import type { TrainerState } from '../engine/trainer.js';
import type { Activation, Dropout } from '../nn/elementwise.js';
import { NORM_EPS, type GroupwiseNorm } from '../nn/norms.js';
import { exportModel, type ExportOptions } from './layout.js';

const { onnx } = onnxProto;

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
export const ONNX_INPUT = 'features';
export const ONNX_OUTPUT = 'probabilities';
export const ONNX_LOGITS = 'logits';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const A = onnx.AttributeProto.AttributeType;

type Attr = { name: string; type: number; f?: number; i?: number; s?: Uint8Array };
const fAttr = (name: string, f: number): Attr => ({ name, type: A.FLOAT, f });
const iAttr = (name: string, i: number): Attr => ({ name, type: A.INT, i });

function floatTensor(name: string, dims: number[], data: ArrayLike<number>): InstanceType<typeof onnx.TensorProto> {
  const raw = new Uint8Array(data.length * 4);
  const v = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) v.setFloat32(i * 4, data[i]!, true);
  return onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: raw });
}

function int64Tensor(name: string, data: number[]): InstanceType<typeof onnx.TensorProto> {
  const raw = new Uint8Array(data.length * 8);
  const v = new DataView(raw.buffer);
  data.forEach((x, i) => v.setBigInt64(i * 8, BigInt(x), true));
  return onnx.TensorProto.create({ name, dims: [data.length], dataType: INT64, rawData: raw });
}

function valueInfo(name: string, width: number): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: width }] } },
    },
  });
}

/** ONNX ModelProto bytes: input "features" [N, F] float32 (N dynamic), output "probabilities" [N, C] */
export function exportOnnx(config: RunConfig, state: TrainerState, opts: ExportOptions = {}): Uint8Array {
  const m = exportModel(config, state, opts);
  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  const inits: InstanceType<typeof onnx.TensorProto>[] = [];
  const consts = new Set<string>();
  let x = ONNX_INPUT;

  const node = (op: string, inputs: string[], output: string, attribute: Attr[] = []): string => {
    nodes.push(onnx.NodeProto.create({ opType: op, name: output, input: inputs, output: [output], attribute }));
    return output;
  };
  /** a constant shared by every node that needs it (e.g. the Reshape shapes, 0.5) */
  const constant = (name: string, make: () => InstanceType<typeof onnx.TensorProto>): string => {
    if (!consts.has(name)) {
      consts.add(name);
      inits.push(make());
    }
    return name;
  };
  const scalar = (name: string, v: number): string => constant(name, () => floatTensor(name, [], [v]));
  const shape = (dims: number[]): string =>
    constant(`shape_${dims.join('_')}`, () => int64Tensor(`shape_${dims.join('_')}`, dims));
  const param = (name: string, dims: number[], data: ArrayLike<number>): string => {
    inits.push(floatTensor(name, dims, data));
    return name;
  };

  const activation = (fn: ActivationName, i: number): string => {
    const out = `${i}.out`;
    switch (fn) {
      case 'relu':
        return node('Relu', [x], out);
      case 'leaky_relu':
        return node('LeakyRelu', [x], out, [fAttr('alpha', 0.01)]);
      case 'elu':
        return node('Elu', [x], out, [fAttr('alpha', 1)]);
      case 'selu':
        return node('Selu', [x], out, [fAttr('alpha', 1.6732632423543772), fAttr('gamma', 1.0507009873554805)]);
      case 'gelu': {
        // exact GELU, as gradwire computes it: 0.5·x·(1 + erf(x/√2))
        const e = node('Erf', [node('Mul', [x, scalar('inv_sqrt2', Math.SQRT1_2)], `${i}.scaled`)], `${i}.erf`);
        const h = node('Mul', [x, node('Add', [e, scalar('one', 1)], `${i}.one_plus_erf`)], `${i}.x_times`);
        return node('Mul', [h, scalar('half', 0.5)], out);
      }
      case 'sigmoid':
        return node('Sigmoid', [x], out);
      case 'tanh':
        return node('Tanh', [x], out);
      case 'softplus':
        return node('Softplus', [x], out);
      case 'silu':
        return node('Mul', [x, node('Sigmoid', [x], `${i}.sigmoid`)], out);
    }
  };

  for (const layer of m.model.layers) {
    const i = layer.index;
    const F = layer.inF;
    const p = layer.params;
    switch (layer.kind) {
      case 'dense': {
        const w = param(`${i}.weight`, [layer.outF, F], p.subarray(0, layer.outF * F));
        const b = param(`${i}.bias`, [layer.outF], p.subarray(layer.outF * F));
        const last = i === m.model.layers.length - 1;
        x = node('Gemm', [x, w, b], last ? ONNX_LOGITS : `${i}.out`, [iAttr('transB', 1)]);
        break;
      }
      case 'batchnorm': {
        const inputs = [
          param(`${i}.weight`, [F], p.subarray(0, F)),
          param(`${i}.bias`, [F], p.subarray(F)),
          param(`${i}.running_mean`, [F], layer.buffers.subarray(0, F)),
          param(`${i}.running_var`, [F], layer.buffers.subarray(F)),
        ];
        x = node('BatchNormalization', [x, ...inputs], `${i}.out`, [fAttr('epsilon', NORM_EPS)]);
        break;
      }
      case 'layernorm': {
        const inputs = [param(`${i}.weight`, [F], p.subarray(0, F)), param(`${i}.bias`, [F], p.subarray(F))];
        x = node('LayerNormalization', [x, ...inputs], `${i}.out`, [iAttr('axis', -1), fAttr('epsilon', NORM_EPS)]);
        break;
      }
      case 'groupnorm': {
        // G groups of F/G contiguous features, γ and β per feature
        const G = (layer as GroupwiseNorm).groups;
        const grouped = node('Reshape', [x, shape([-1, G, F / G])], `${i}.grouped`);
        const ones = constant(`ones_${G}`, () => floatTensor(`ones_${G}`, [G], new Float32Array(G).fill(1)));
        const zeros = constant(`zeros_${G}`, () => floatTensor(`zeros_${G}`, [G], new Float32Array(G)));
        const normed = node('InstanceNormalization', [grouped, ones, zeros], `${i}.normalized`, [
          fAttr('epsilon', NORM_EPS),
        ]);
        const flat = node('Reshape', [normed, shape([-1, F])], `${i}.flat`);
        const scaled = node('Mul', [flat, param(`${i}.weight`, [F], p.subarray(0, F))], `${i}.scaled`);
        x = node('Add', [scaled, param(`${i}.bias`, [F], p.subarray(F))], `${i}.out`);
        break;
      }
      case 'instancenorm': {
        // the F features as C channels of F/C, γ and β per channel
        const C = (layer as GroupwiseNorm).groups;
        const grouped = node('Reshape', [x, shape([-1, C, F / C])], `${i}.grouped`);
        const normed = node(
          'InstanceNormalization',
          [grouped, param(`${i}.weight`, [C], p.subarray(0, C)), param(`${i}.bias`, [C], p.subarray(C))],
          `${i}.normalized`,
          [fAttr('epsilon', NORM_EPS)],
        );
        x = node('Reshape', [normed, shape([-1, F])], `${i}.out`);
        break;
      }
      case 'activation':
        x = activation((layer as Activation).fn, i);
        break;
      case 'dropout': {
        const d = layer as Dropout;
        // inverted dropout is the identity at test; the lecture's variant keeps × (1 − p)
        if (d.mode === 'scale_at_test' && d.rate > 0) x = node('Mul', [x, scalar(`${i}.keep`, 1 - d.rate)], `${i}.out`);
        break;
      }
      default:
        throw new Error(`exportOnnx: layer ${i} of kind ${layer.kind} has no ONNX form`);
    }
  }
  // a layer list may end with a layer after its last Dense (the model's output all the same)
  if (x !== ONNX_LOGITS) x = node('Identity', [x], ONNX_LOGITS);
  node('Softmax', [x], ONNX_OUTPUT, [iAttr('axis', -1)]);

  const metadata: Record<string, string> = {
    layers: JSON.stringify(m.specs),
    features: String(m.features),
    classes: String(m.classes),
    loss: config.model.loss,
  };
  if (m.classNames) metadata.class_names = JSON.stringify(m.classNames);
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'gradwire',
    producerVersion: opts.producerVersion ?? 'unknown',
    docString: `gradwire MLP ${m.model.describe()} (${config.model.loss}): features [N, ${m.features}] → probabilities [N, ${m.classes}]`,
    graph: {
      name: 'gradwire_mlp',
      node: nodes,
      initializer: inits,
      input: [valueInfo(ONNX_INPUT, m.features)],
      output: [valueInfo(ONNX_OUTPUT, m.classes), valueInfo(ONNX_LOGITS, m.classes)],
    },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
