// Run config parsing: validate what the user wrote (shared/config-schema.ts), check the rules
// that span several keys, fill every default and return the resolved `RunConfig`. Pure: the
// caller reads the file (coordinator/run/config-file.ts).
import { parse as parseYaml, YAMLParseError } from 'yaml';
import {
  formatIssues,
  formatPath,
  formatValue,
  problem,
  runSchema,
  SCHEDULES,
  type RawRunConfig,
} from './config-schema.js';
import {
  type DataConfig,
  type LayerSpec,
  type ModelConfig,
  type ModelNorm,
  NORMS,
  type OptimizerConfig,
  type OptimizerName,
  OPTIMIZERS,
  type RunConfig,
  type ScheduleConfig,
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

/** PyTorch's eps for each optimizer that uses it (sgd, momentum and nesterov do not) */
export const DEFAULT_EPS: Partial<Record<OptimizerName, number>> = {
  adagrad: 1e-10,
  rmsprop: 1e-8,
  adadelta: 1e-6,
  adam: 1e-8,
  adamw: 1e-8,
  nadam: 1e-8,
};

type Hyper = 'momentum' | 'beta1' | 'beta2' | 'eps' | 'alpha' | 'rho' | 'momentumDecay';

/** The hyperparameters each optimizer reads, besides lr, weightDecay, decay, clipNorm and
 *  schedule (which every optimizer takes). A key of this list that the chosen optimizer does not
 *  read is an error, and the resolved config records exactly the ones it reads. */
export const OPTIMIZER_KEYS: Record<OptimizerName, readonly Hyper[]> = {
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

/** defaults of the hyperparameters (eps: DEFAULT_EPS, per optimizer) */
const DEFAULT_HYPER: Record<Exclude<Hyper, 'eps'>, number> = {
  momentum: 0.9,
  beta1: 0.9,
  beta2: 0.999,
  alpha: 0.99,
  rho: 0.9,
  momentumDecay: 0.004,
};

type ScheduleKey = 'stepSize' | 'gamma' | 'minLr';

/** The keys each schedule reads besides name and warmupSteps (which every schedule takes). */
export const SCHEDULE_KEYS: Record<ScheduleConfig['name'], readonly ScheduleKey[]> = {
  constant: [],
  step: ['stepSize', 'gamma'],
  exponential: ['gamma'],
  cosine: ['minLr'],
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

/** `a, b and c` */
function list(xs: readonly string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

/** Keys that the chosen optimizer, schedule or norm would not read: each is an error naming the
 *  key, its value, who reads it and what to write instead (nothing is silently ignored). Checks
 *  only sections whose choosing key is itself valid (an invalid name is reported by the schema). */
function unusedKeys(input: Obj): Array<{ path: string[]; line: string; always?: boolean }> {
  const found: Array<{ path: string[]; line: string; always?: boolean }> = [];
  const lines = { push: (line: string, ...path: string[]): number => found.push({ path, line }) };
  const opt = input.optimizer;
  if (isObj(opt)) {
    const name = opt.name ?? 'adam';
    if (typeof name === 'string' && name in OPTIMIZER_KEYS) {
      const n = name as OptimizerName;
      const who = opt.name === undefined ? `${n} (the default optimizer.name)` : n;
      for (const key of Object.keys(DEFAULT_HYPER).concat('eps') as Hyper[]) {
        if (opt[key] === undefined || OPTIMIZER_KEYS[n].includes(key)) continue;
        const users = OPTIMIZERS.filter((o) => OPTIMIZER_KEYS[o].includes(key));
        const fix =
          key === 'momentum' && n === 'sgd'
            ? `for PyTorch's SGD(momentum=${formatValue(opt[key])}) write name: momentum (nesterov=True: name: nesterov), for plain SGD remove it`
            : `remove it, or choose an optimizer.name that uses it`;
        lines.push(
          `optimizer.${key}: ${formatValue(opt[key])} is not used by ${who}; it is used by ${list(users)} (${fix})`,
          'optimizer',
          key,
        );
      }
      if (n === 'adamw' && opt.decay === 'l2') {
        lines.push(
          'optimizer.decay: "l2" is not what adamw does: adamw always decouples its weight decay (θ -= lr·λθ before the update); for Adam with L2 decay (g += λθ) write name: adam, decay: l2',
          'optimizer',
          'decay',
        );
      }
    }
    const sch = opt.schedule;
    if (isObj(sch)) {
      const sName = sch.name ?? 'constant';
      if (typeof sName === 'string' && sName in SCHEDULE_KEYS) {
        const sn = sName as ScheduleConfig['name'];
        const who =
          sch.name === undefined ? `the ${sn} schedule (the default optimizer.schedule.name)` : `the ${sn} schedule`;
        for (const key of ['stepSize', 'gamma', 'minLr'] as const) {
          if (sch[key] === undefined || SCHEDULE_KEYS[sn].includes(key)) continue;
          const users = SCHEDULES.filter((x) => SCHEDULE_KEYS[x].includes(key));
          lines.push(
            `optimizer.schedule.${key}: ${formatValue(sch[key])} is not used by ${who}; it is used by ${list(users)} (remove it, or choose an optimizer.schedule.name that uses it)`,
            'optimizer',
            'schedule',
            key,
          );
        }
      }
    }
  }
  const model = input.model;
  if (isObj(model) && model.layers === undefined && (model.dropout ?? 0) === 0 && model.dropoutMode !== undefined) {
    // inverted is the default and, without dropout, what every model does: only another choice
    // is a silent no-op (a sweep that sets model.dropout to 0 drops it, even as a parameter)
    if (model.dropoutMode !== 'inverted')
      found.push({
        path: ['model', 'dropoutMode'],
        line: `model.dropoutMode: ${formatValue(model.dropoutMode)} is not used with model.dropout 0 (there is no dropout layer); set model.dropout to a rate > 0, or remove it`,
        always: true,
      });
  }
  if (isObj(model) && model.layers === undefined) {
    // with an explicit layer list the compact keys are documented as not used (CONFIG.md)
    const norm = model.norm ?? 'none';
    const who = model.norm === undefined ? 'norm none (the default model.norm)' : `norm ${String(norm)}`;
    for (const [key, user] of [
      ['groups', 'group'],
      ['channels', 'instance'],
    ] as const) {
      if (model[key] === undefined || norm === user || typeof norm !== 'string' || !NORMS.includes(norm as never))
        continue;
      lines.push(
        `model.${key}: ${formatValue(model[key])} is not used by ${who}; it is used by norm ${user} (remove it, or write norm: ${user})`,
        'model',
        key,
      );
    }
  }
  return found;
}

/** `input` without the keys that its optimizer, schedule or norm would not use (a copy), except
 *  those at the dotted paths `keep` (they stay, to be reported) */
function withoutUnused(input: Obj, keep: readonly string[]): Obj {
  const copy = structuredClone(input);
  for (const { path, always } of unusedKeys(copy)) {
    if (!always && keep.includes(path.join('.'))) continue;
    let at: unknown = copy;
    for (const p of path.slice(0, -1)) at = (at as Obj)[p];
    delete (at as Obj)[path[path.length - 1]!];
  }
  return copy;
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
  if (d.splitSeed !== undefined) out.splitSeed = d.splitSeed;
  return out;
}

function resolveModel(m: NonNullable<RawRunConfig['model']>): ModelConfig {
  const init = m.init ?? 'he_normal';
  const dropoutMode = m.dropoutMode ?? 'inverted';
  const name = m.norm ?? 'none';
  // the norm's own key only (groups for group, channels for instance): what runs
  const norm: ModelNorm =
    name === 'group'
      ? { norm: name, groups: m.groups ?? DEFAULT_GROUPS }
      : name === 'instance'
        ? { norm: name, channels: m.channels ?? DEFAULT_CHANNELS }
        : { norm: name };
  const out: ModelConfig = {
    hidden: m.hidden ?? [...DEFAULT_HIDDEN],
    activation: m.activation ?? 'relu',
    init,
    ...norm,
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
  // only the keys the schedule and the optimizer read: the resolved config records what runs
  const scheduleDefaults: Record<ScheduleKey, number> = {
    stepSize: 1,
    gamma: scheduleName === 'exponential' ? 0.95 : 0.1,
    minLr: 0,
  };
  const used: Partial<Record<ScheduleKey, number>> = {};
  for (const k of SCHEDULE_KEYS[scheduleName]) used[k] = s[k] ?? scheduleDefaults[k];
  const schedule: ScheduleConfig = { name: scheduleName, ...used, warmupSteps: s.warmupSteps ?? 0 };
  const hypers: Partial<Record<Hyper, number>> = {};
  for (const k of OPTIMIZER_KEYS[name]) hypers[k] = o[k] ?? (k === 'eps' ? DEFAULT_EPS[name]! : DEFAULT_HYPER[k]);
  return {
    name,
    lr: o.lr ?? DEFAULT_LR[name],
    ...hypers,
    weightDecay: o.weightDecay ?? (name === 'adamw' ? 0.01 : 0),
    // as it runs: adamw always decouples (an explicit decay: l2 with adamw is an error)
    decay: name === 'adamw' ? 'decoupled' : (o.decay ?? 'l2'),
    clipNorm: o.clipNorm ?? 0,
    schedule,
  };
}

export interface ParseOptions {
  /** 'error' (the default): a key that the chosen optimizer, schedule or norm does not use is
   *  an error. 'drop': such keys are removed first — for a config derived from another by
   *  changing a choosing key (a sweep trial that sets optimizer.name on a resolved base). */
  unusedKeys?: 'error' | 'drop';
  /** with 'drop': dotted paths (`optimizer.momentum`) that stay errors when unused — the keys
   *  the caller set on purpose (a sweep's parameters) */
  keep?: readonly string[];
}

/** Validate a plain object (parsed from YAML or JSON), fill every default and return the run
 *  config: every default filled in, and only the keys that the run uses. Throws UserError
 *  CONFIG_INVALID listing every problem, one per line. */
export function parseRunConfig(input: unknown, options: ParseOptions = {}): RunConfig {
  if (input === null || input === undefined) input = {};
  if (!isObj(input)) {
    throw new UserError(
      'CONFIG_INVALID',
      problem([], input, 'must be a mapping of config keys (seed, data, model, optimizer, ...)'),
    );
  }
  const expanded = expandShorthand(input);
  const scheduleWasString = expanded.scheduleWasString;
  const raw = options.unusedKeys === 'drop' ? withoutUnused(expanded.input, options.keep ?? []) : expanded.input;
  const result = runSchema.safeParse(raw);
  let lines = [
    ...(result.success ? [] : formatIssues(result.error.issues, raw)),
    ...crossChecks(raw),
    ...unusedKeys(raw).map((u) => u.line),
  ];
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
    // crash-safe by default: a checkpoint every epoch and at least every minute of training
    checkpointEvery: c.checkpointEvery ?? 'epoch',
    checkpointSeconds: c.checkpointSeconds ?? 60,
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
