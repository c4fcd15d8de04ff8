// The zod schema of a run config as written by the user (every key optional, unknown keys are
// errors) and the formatter that turns zod issues into one sentence per problem:
//   `optimizer.lr: -0.1 must be >= 0`. Defaults and cross-field rules are in shared/config.ts.
import { z } from 'zod';
import { ACTIVATIONS, DATASETS, DROPOUT_MODES, INITIALIZERS, LOSSES, NORMS, OPTIMIZERS } from './config-types.js';

export const SCHEDULES = ['constant', 'step', 'exponential', 'cosine'] as const;
export const LAYER_TYPES = [
  'dense',
  'activation',
  'batchnorm',
  'layernorm',
  'groupnorm',
  'instancenorm',
  'dropout',
] as const;

// ---- building blocks: every check carries the "what is allowed" half of the sentence ----

/** a finite number satisfying `ok`; `rule` is the sentence tail, e.g. "must be >= 0" */
export function num(rule: string, ok: (v: number) => boolean) {
  return z
    .unknown()
    .refine((v) => typeof v !== 'number' || Number.isFinite(v), {
      error: 'must be a finite number',
      abort: true,
    })
    .pipe(z.number({ error: rule }).refine(ok, { error: rule }))
    .optional();
}
export const whole = (min: number) =>
  num(`must be a whole number >= ${min}`, (v) => Number.isSafeInteger(v) && v >= min);
const atLeast = (min: number) => num(`must be >= ${min}`, (v) => v >= min);
const positive = () => num('must be > 0', (v) => v > 0);
const unitInterval = () => num('must be in [0, 1)', (v) => v >= 0 && v < 1);
const oneOf = <T extends readonly [string, ...string[]]>(values: T) => z.enum(values).optional();
const text = () =>
  z
    .string({ error: 'must be a non-empty string' })
    .refine((s) => s.length > 0, { error: 'must be a non-empty string' })
    .optional();

/** a strict object whose unknown-key and wrong-type issues list the allowed keys */
function strict<S extends z.ZodRawShape>(shape: S) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys' ? `allowed: ${allowed}` : `must be a mapping with the keys ${allowed}`,
  });
}

const splitRule = 'must be three fractions (train, validation, test) that sum to 1';
const split = z
  .unknown()
  .superRefine((v, ctx) => {
    const ok =
      Array.isArray(v) &&
      v.length === 3 &&
      v.every((f) => typeof f === 'number' && Number.isFinite(f) && f >= 0 && f <= 1) &&
      Math.abs((v as number[]).reduce((s, f) => s + f, 0) - 1) <= 1e-9;
    if (!ok) ctx.addIssue({ code: 'custom', message: splitRule });
    else if ((v as number[])[0] === 0) ctx.addIssue({ code: 'custom', message: 'must have a train fraction > 0' });
  })
  .optional();

const labelColumn = z
  .unknown()
  .refine((v) => (typeof v === 'string' && v.length > 0) || (Number.isSafeInteger(v) && (v as number) >= 0), {
    error: 'must be a column name',
  })
  .optional();

// ---- the sections ----

export const dataSchema = strict({
  name: oneOf(DATASETS),
  split,
  images: text(),
  labels: text(),
  path: text(),
  labelColumn,
  samples: whole(1),
  classes: whole(2),
  noise: atLeast(0),
  splitSeed: whole(0),
});

const layerSchema = z.discriminatedUnion('type', [
  strict({ type: z.literal('dense'), units: whole(1).unwrap(), init: oneOf(INITIALIZERS) }),
  strict({ type: z.literal('activation'), name: z.enum(ACTIVATIONS) }),
  strict({ type: z.literal('batchnorm') }),
  strict({ type: z.literal('layernorm') }),
  strict({ type: z.literal('groupnorm'), groups: whole(1).unwrap() }),
  strict({ type: z.literal('instancenorm'), channels: whole(1).unwrap() }),
  strict({ type: z.literal('dropout'), rate: unitInterval().unwrap(), mode: oneOf(DROPOUT_MODES) }),
]);

export const modelSchema = strict({
  hidden: z.array(whole(1).unwrap(), { error: 'must be a list of whole numbers >= 1' }).optional(),
  activation: oneOf(ACTIVATIONS),
  init: oneOf(INITIALIZERS),
  norm: oneOf(NORMS),
  groups: whole(1),
  channels: whole(1),
  dropout: unitInterval(),
  dropoutMode: oneOf(DROPOUT_MODES),
  layers: z.array(layerSchema, { error: 'must be a list of layers' }).optional(),
  loss: oneOf(LOSSES),
});

export const scheduleSchema = strict({
  name: oneOf(SCHEDULES),
  stepSize: whole(1),
  gamma: positive(),
  minLr: atLeast(0),
  warmupSteps: whole(0),
});

export const optimizerSchema = strict({
  name: oneOf(OPTIMIZERS),
  lr: atLeast(0),
  momentum: unitInterval(),
  beta1: unitInterval(),
  beta2: unitInterval(),
  eps: positive(),
  alpha: unitInterval(),
  rho: unitInterval(),
  momentumDecay: atLeast(0),
  weightDecay: atLeast(0),
  decay: oneOf(['l2', 'decoupled'] as const),
  clipNorm: atLeast(0),
  schedule: scheduleSchema.optional(),
});

export const runSchema = strict({
  seed: whole(0),
  data: dataSchema.optional(),
  model: modelSchema.optional(),
  optimizer: optimizerSchema.optional(),
  batchSize: whole(1),
  microbatch: whole(1),
  epochs: whole(1),
  checkpointEvery: z
    .unknown()
    .refine((v) => v === 'epoch' || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0), {
      error: 'must be "epoch" or a whole number of steps >= 0 (0: only at the end and when stopped)',
    })
    .transform((v) => v as 'epoch' | number)
    .optional(),
  checkpointSeconds: atLeast(0),
  onNonFinite: oneOf(['stop', 'skip'] as const),
});

export type RawRunConfig = z.infer<typeof runSchema>;

// ---- issue formatting ----

/** `['model', 'layers', 2, 'type']` → `model.layers[2].type` */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** a value as the user would write it: strings quoted, lists as [a, b], mappings as { k: v } */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  if (v === null) return 'null';
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}: ${formatValue(x)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return String(v);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** `${path}: ${value} ${rule}` */
export function problem(path: readonly PropertyKey[], value: unknown, rule: string): string {
  const where = formatPath(path as (string | number)[]);
  return value === undefined ? `${where}: missing; it ${rule}` : `${where}: ${formatValue(value)} ${rule}`;
}

const KIND: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  number: 'a number',
  string: 'a string',
};

function notOneOf(path: readonly PropertyKey[], value: unknown, allowed: readonly unknown[]): string {
  const list = allowed.map(String).join(', ');
  return value === undefined
    ? `${formatPath(path as (string | number)[])}: missing; it must be one of ${list}`
    : problem(path, value, `is not one of ${list}`);
}

/** one line per zod issue, naming the path, the offending value (read from `root`) and the rule */
export function formatIssues(issues: readonly z.core.$ZodIssue[], root: unknown): string[] {
  const lines: string[] = [];
  for (const iss of issues) {
    const value = valueAt(root, iss.path);
    switch (iss.code) {
      case 'unrecognized_keys':
        for (const k of iss.keys)
          lines.push(`${formatPath([...iss.path, k] as (string | number)[])}: unknown key (${iss.message})`);
        break;
      case 'invalid_value':
        lines.push(notOneOf(iss.path, value, iss.values));
        break;
      case 'invalid_union': {
        const options = (iss as { options?: unknown[] }).options;
        lines.push(options ? notOneOf(iss.path, value, options) : problem(iss.path, value, iss.message));
        break;
      }
      case 'invalid_type':
        // a required key without its own wording (e.g. a layer's `name`) falls back to zod's
        lines.push(
          problem(
            iss.path,
            value,
            iss.message.startsWith('Invalid input') ? `must be ${KIND[iss.expected] ?? iss.expected}` : iss.message,
          ),
        );
        break;
      default:
        lines.push(problem(iss.path, value, iss.message));
    }
  }
  return [...new Set(lines)];
}
