// Run config parsing: validate what the user wrote (shared/config-schema.ts), check the rules
// that span several keys, fill every default and return the resolved `RunConfig`. Pure: the
// caller reads the file (coordinator/run/config-file.ts).
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { formatIssues, formatPath, problem, runSchema, type RawRunConfig } from './config-schema.js';
import type {
  DataConfig,
  LayerSpec,
  ModelConfig,
  OptimizerConfig,
  OptimizerName,
  RunConfig,
  ScheduleConfig,
} from './config-types.js';
import { UserError } from './errors.js';

export { formatPath, formatValue } from './config-schema.js';

/** learning rate when `optimizer.lr` is not given */
export const DEFAULT_LR: Record<OptimizerName, number> = {
  sgd: 0.01,
  momentum: 0.01,
  nesterov: 0.01,
  adagrad: 0.01,
  rmsprop: 0.01,
  adadelta: 1.0,
  adam: 0.001,
  adamw: 0.001,
  nadam: 0.001,
};

/** PyTorch's eps for each optimizer (sgd, momentum and nesterov do not use it; 1e-8 keeps
 *  the resolved config valid input, so a run's config.json can be given back as a config) */
export const DEFAULT_EPS: Record<OptimizerName, number> = {
  sgd: 1e-8,
  momentum: 1e-8,
  nesterov: 1e-8,
  adagrad: 1e-10,
  rmsprop: 1e-8,
  adadelta: 1e-6,
  adam: 1e-8,
  adamw: 1e-8,
  nadam: 1e-8,
};

const DEFAULT_HIDDEN = [256, 128];
const DEFAULT_GROUPS = 8;
const DEFAULT_CHANNELS = 8;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isWhole = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;

/** `optimizer.schedule: cosine` is short for `optimizer.schedule: { name: cosine }` */
function expandShorthand(input: Obj): { input: Obj; scheduleWasString: boolean } {
  const opt = input.optimizer;
  if (!isObj(opt) || typeof opt.schedule !== 'string') return { input, scheduleWasString: false };
  return {
    input: { ...input, optimizer: { ...opt, schedule: { name: opt.schedule } } },
    scheduleWasString: true,
  };
}

/** the rules zod cannot see one key at a time; checks only values that are themselves valid */
function crossChecks(input: Obj): string[] {
  const lines: string[] = [];
  const data = input.data;
  if (isObj(data)) {
    const need = (key: string, why: string): void => {
      if (data[key] === undefined) lines.push(`data.${key}: missing; it is required when data.name is ${why}`);
    };
    if (data.name === 'idx') {
      need('images', 'idx (the IDX images file)');
      need('labels', 'idx (the IDX labels file)');
    } else if (data.name === 'csv') {
      need('path', 'csv (the CSV file)');
      need('labelColumn', 'csv (the header of the label column)');
    }
  }

  const model = input.model ?? {};
  if (!isObj(model)) return lines;
  const divides = (where: (string | number)[], k: unknown, width: number, widthPath: string): void => {
    if (isWhole(k) && width % k !== 0) {
      lines.push(`${formatPath(where)}: ${k} does not divide layer width ${width} (${widthPath})`);
    }
  };
  const layers = model.layers;
  if (Array.isArray(layers)) {
    // the input width is known only when the model is built: check after the first dense
    let width: number | undefined;
    let widthPath = '';
    layers.forEach((layer, i) => {
      if (!isObj(layer)) return;
      if (layer.type === 'dense') {
        width = isWhole(layer.units) ? layer.units : undefined;
        widthPath = `model.layers[${i}].units`;
      } else if (width !== undefined && layer.type === 'groupnorm') {
        divides(['model', 'layers', i, 'groups'], layer.groups, width, widthPath);
      } else if (width !== undefined && layer.type === 'instancenorm') {
        divides(['model', 'layers', i, 'channels'], layer.channels, width, widthPath);
      }
    });
  } else if (model.norm === 'group' || model.norm === 'instance') {
    const key = model.norm === 'group' ? 'groups' : 'channels';
    const k = model[key] ?? (key === 'groups' ? DEFAULT_GROUPS : DEFAULT_CHANNELS);
    const hidden = model.hidden ?? DEFAULT_HIDDEN;
    if (Array.isArray(hidden)) {
      for (const [i, w] of hidden.entries()) {
        if (!isWhole(w) || !isWhole(k) || w % k === 0) continue;
        lines.push(`model.${key}: ${k} does not divide layer width ${w} (model.hidden[${i}])`);
        break; // one line per key: the first width it fails names the problem
      }
    }
  }
  return lines;
}

function resolveData(d: NonNullable<RawRunConfig['data']>): DataConfig {
  const out: DataConfig = {
    name: d.name ?? 'mnist',
    split: d.split ? [...(d.split as [number, number, number])] : [0.8, 0.1, 0.1],
    samples: d.samples ?? 1000,
    classes: d.classes ?? 3,
    noise: d.noise ?? 0.1,
  };
  if (d.images !== undefined) out.images = d.images;
  if (d.labels !== undefined) out.labels = d.labels;
  if (d.path !== undefined) out.path = d.path;
  if (d.labelColumn !== undefined) out.labelColumn = String(d.labelColumn);
  return out;
}

function resolveModel(m: NonNullable<RawRunConfig['model']>): ModelConfig {
  const init = m.init ?? 'he_normal';
  const dropoutMode = m.dropoutMode ?? 'inverted';
  const out: ModelConfig = {
    hidden: m.hidden ?? [...DEFAULT_HIDDEN],
    activation: m.activation ?? 'relu',
    init,
    norm: m.norm ?? 'none',
    groups: m.groups ?? DEFAULT_GROUPS,
    channels: m.channels ?? DEFAULT_CHANNELS,
    dropout: m.dropout ?? 0,
    dropoutMode,
    loss: m.loss ?? 'cross_entropy',
  };
  if (m.layers) {
    out.layers = m.layers.map((l): LayerSpec => {
      switch (l.type) {
        case 'dense':
          return { type: 'dense', units: l.units, init: l.init ?? init };
        case 'dropout':
          return { type: 'dropout', rate: l.rate, mode: l.mode ?? dropoutMode };
        default:
          return { ...l };
      }
    });
  }
  return out;
}

function resolveOptimizer(o: NonNullable<RawRunConfig['optimizer']>): OptimizerConfig {
  const name = o.name ?? 'adam';
  const s = o.schedule ?? {};
  const scheduleName = s.name ?? 'constant';
  const schedule: ScheduleConfig = {
    name: scheduleName,
    stepSize: s.stepSize ?? 1,
    gamma: s.gamma ?? (scheduleName === 'exponential' ? 0.95 : 0.1),
    minLr: s.minLr ?? 0,
    warmupSteps: s.warmupSteps ?? 0,
  };
  return {
    name,
    lr: o.lr ?? DEFAULT_LR[name],
    momentum: o.momentum ?? 0.9,
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.999,
    eps: o.eps ?? DEFAULT_EPS[name],
    alpha: o.alpha ?? 0.99,
    rho: o.rho ?? 0.9,
    momentumDecay: o.momentumDecay ?? 0.004,
    weightDecay: o.weightDecay ?? (name === 'adamw' ? 0.01 : 0),
    decay: o.decay ?? (name === 'adamw' ? 'decoupled' : 'l2'),
    clipNorm: o.clipNorm ?? 0,
    schedule,
  };
}

/** Validate a plain object (parsed from YAML or JSON), fill every default and return the run
 *  config. Throws UserError CONFIG_INVALID listing every problem, one per line. */
export function parseRunConfig(input: unknown): RunConfig {
  if (input === null || input === undefined) input = {};
  if (!isObj(input)) {
    throw new UserError(
      'CONFIG_INVALID',
      problem([], input, 'must be a mapping of config keys (seed, data, model, optimizer, ...)'),
    );
  }
  const { input: raw, scheduleWasString } = expandShorthand(input);
  const result = runSchema.safeParse(raw);
  let lines = [...(result.success ? [] : formatIssues(result.error.issues, raw)), ...crossChecks(raw)];
  if (scheduleWasString) lines = lines.map((l) => l.replace(/^optimizer\.schedule\.name:/, 'optimizer.schedule:'));
  if (!result.success || lines.length > 0) throw new UserError('CONFIG_INVALID', lines.join('\n'));
  const c = result.data;
  return {
    seed: c.seed ?? 0,
    data: resolveData(c.data ?? {}),
    model: resolveModel(c.model ?? {}),
    optimizer: resolveOptimizer(c.optimizer ?? {}),
    batchSize: c.batchSize ?? 128,
    microbatch: c.microbatch ?? 16,
    epochs: c.epochs ?? 10,
    checkpointEvery: c.checkpointEvery ?? 0,
    onNonFinite: c.onNonFinite ?? 'stop',
  };
}

/** Parse a config file's text (YAML, or JSON when the name ends in .json) and validate it. */
export function parseConfigText(text: string, fileName: string): RunConfig {
  let value: unknown;
  if (/\.json$/i.test(fileName)) {
    try {
      value = JSON.parse(text);
    } catch (e) {
      const msg = (e as Error).message;
      const pos = /at position (\d+)/.exec(msg);
      let where = '';
      if (pos) {
        const before = text.slice(0, Number(pos[1])).split('\n');
        where = `line ${before.length}, column ${before[before.length - 1]!.length + 1}: `;
      }
      throw new UserError('CONFIG_INVALID', `${fileName}: ${where}${msg}`);
    }
  } else {
    try {
      value = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
    } catch (e) {
      if (e instanceof YAMLParseError) {
        const at = e.linePos?.[0];
        const where = at ? `line ${at.line}, column ${at.col}: ` : '';
        const first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        throw new UserError('CONFIG_INVALID', `${fileName}: ${where}${first}`);
      }
      throw e;
    }
  }
  return parseRunConfig(value);
}

/** the run `{}` describes: MNIST, a 256-128 ReLU MLP, Adam at 0.001, batch 128, 10 epochs */
export const DEFAULT_RUN_CONFIG: RunConfig = parseRunConfig({});
