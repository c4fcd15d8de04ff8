// Sweep config parsing: validate what the user wrote (zod, strict objects), resolve the base
// run config, check every parameter path and every value a parameter may take against that base
// (by setting it and re-validating with parseRunConfig), fill the defaults and return the
// resolved `SweepConfig`. Errors are UserError CONFIG_INVALID, one line per problem:
//   `parameters["model.dropout"].min: 0.5 must be < max (0.2)`.
// Also: applyParams (a trial's run config), canonicalJson (what the coordinator hashes) and
// describeChange (what changed between two sweep configs, for --resume). Pure: no I/O.
import { z } from 'zod';
import { parseRunConfig } from '../config.js';
import { formatIssues, formatPath, formatValue, num, problem, whole } from '../config-schema.js';
import type { RunConfig } from '../config-types.js';
import { UserError } from '../errors.js';
import type { ParamSpec, SweepConfig, SweepMethod } from './types.js';

type Obj = Record<string, unknown>;
type Seg = string | number;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

// ---- the schema (every key optional; parameters are checked by hand below) ----

function strict<S extends z.ZodRawShape>(shape: S) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys' ? `allowed: ${allowed}` : `must be a mapping with the keys ${allowed}`,
  });
}

export const SWEEP_METHODS = ['grid', 'random', 'tpe', 'narrow'] as const satisfies readonly SweepMethod[];

const sweepSchema = strict({
  base: z
    .string({ error: 'must be a file name (a run config, relative to the sweep config)' })
    .refine((s) => s.length > 0, { error: 'must be a non-empty file name' })
    .optional(),
  run: z.unknown().optional(),
  method: z.enum(SWEEP_METHODS).optional(),
  metric: strict({
    name: z.enum(['valAccuracy', 'valLoss']).optional(),
    goal: z.enum(['maximize', 'minimize']).optional(),
  }).optional(),
  trials: whole(1),
  concurrency: whole(1),
  workersPerTrial: whole(1),
  seed: whole(0),
  seeds: whole(1),
  parameters: z.unknown().optional(),
  earlyStopping: strict({
    type: z.enum(['asha']).optional(),
    minEpochs: whole(1),
    reductionFactor: whole(2),
  }).optional(),
  tpe: strict({
    startupTrials: whole(0),
    gamma: num('must be in (0, 1)', (v) => v > 0 && v < 1),
    candidates: whole(1),
  }).optional(),
  narrow: strict({
    rounds: whole(1),
    keep: num('must be in (0, 1]', (v) => v > 0 && v <= 1),
  }).optional(),
});

// ---- paths ----

/** `model.layers[1].rate` or `model.layers.1.rate` → ['model', 'layers', 1, 'rate'] */
export function parsePath(path: string): Seg[] | null {
  const segs: Seg[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) return null;
    if (m[1] !== '') segs.push(/^\d+$/.test(m[1]!) ? Number(m[1]) : m[1]!);
    else if (m[2] === '') return null;
    for (const ix of m[2]!.matchAll(/\[(\d+)\]/g)) segs.push(Number(ix[1]));
  }
  return segs.length > 0 ? segs : null;
}

/** set `value` at `segs` inside `root` (mutates), creating mappings on the way; false when a
 *  segment goes through something that is neither a mapping nor a list */
function setAt(root: Obj, segs: Seg[], value: unknown): boolean {
  let cur: unknown = root;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    const last = i === segs.length - 1;
    if (Array.isArray(cur)) {
      if (typeof s !== 'number' || s >= cur.length) return false;
    } else if (!isObj(cur)) {
      return false;
    }
    const c = cur as Record<Seg, unknown>;
    if (last) c[s] = value;
    else {
      if (c[s] === undefined) c[s] = {};
      cur = c[s];
    }
  }
  return true;
}

const paramWhere = (path: string): string => `parameters[${JSON.stringify(path)}]`;

/** The run config of a trial: each dotted path of `params` set on a deep copy of `base`, then
 *  validated and resolved again by parseRunConfig. */
export function applyParams(base: RunConfig, params: Record<string, unknown>): RunConfig {
  const copy = structuredClone(base) as unknown as Obj;
  for (const [path, value] of Object.entries(params)) {
    const segs = parsePath(path);
    if (!segs || !setAt(copy, segs, structuredClone(value))) {
      throw new UserError('CONFIG_INVALID', `${paramWhere(path)}: unknown parameter path`);
    }
  }
  // the base is resolved: keys of its optimizer (schedule, norm) that a parameter's new choice
  // does not read are dropped; keys the parameters set themselves stay errors when unused
  return parseRunConfig(copy, { unusedKeys: 'drop', keep: Object.keys(params) });
}

// ---- parameters ----

const DISTRIBUTIONS = ['uniform', 'log_uniform', 'int', 'values'] as const;
const SPEC_FORMS = 'must be { values: [...] } or { distribution: uniform | log_uniform | int, min, max }';

function parseSpec(path: string, raw: unknown, lines: string[]): ParamSpec | null {
  const where = paramWhere(path);
  if (!isObj(raw)) {
    lines.push(`${where}: ${formatValue(raw)} ${SPEC_FORMS}`);
    return null;
  }
  const dist = raw.distribution ?? (raw.values !== undefined ? 'values' : undefined);
  if (dist === undefined) {
    lines.push(`${where}.distribution: missing; it ${SPEC_FORMS}`);
    return null;
  }
  if (typeof dist !== 'string' || !(DISTRIBUTIONS as readonly string[]).includes(dist)) {
    lines.push(`${where}.distribution: ${formatValue(dist)} is not one of ${DISTRIBUTIONS.join(', ')}`);
    return null;
  }
  const allowed = dist === 'values' ? ['distribution', 'values'] : ['distribution', 'min', 'max'];
  const before = lines.length;
  for (const k of Object.keys(raw)) {
    if (!allowed.includes(k))
      lines.push(`${where}.${k}: unknown key (allowed with distribution ${dist}: ${allowed.join(', ')})`);
  }
  if (dist === 'values') {
    const values = raw.values;
    if (!Array.isArray(values) || values.length === 0) {
      lines.push(
        values === undefined
          ? `${where}.values: missing; it must be a non-empty list of the values to try`
          : `${where}.values: ${formatValue(values)} must be a non-empty list of the values to try`,
      );
      return null;
    }
    const seen = new Set<string>();
    for (const v of values) {
      const key = canonicalJson(v);
      if (seen.has(key))
        lines.push(
          `${where}.values: ${formatValue(values)} lists ${formatValue(v)} twice (each value must appear once)`,
        );
      seen.add(key);
    }
    return lines.length === before ? { distribution: 'values', values: structuredClone(values) } : null;
  }
  const bound = (k: 'min' | 'max'): number | null => {
    const v = raw[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      lines.push(
        v === undefined
          ? `${where}.${k}: missing; it must be a finite number (distribution ${dist} needs min and max)`
          : `${where}.${k}: ${formatValue(v)} must be a finite number`,
      );
      return null;
    }
    if (dist === 'int' && !Number.isSafeInteger(v)) {
      lines.push(`${where}.${k}: ${formatValue(v)} must be a whole number (distribution int)`);
      return null;
    }
    return v;
  };
  const min = bound('min');
  const max = bound('max');
  if (min === null || max === null) return null;
  if (min >= max) lines.push(`${where}.min: ${min} must be < max (${max})`);
  else if (dist === 'log_uniform' && min <= 0)
    lines.push(`${where}.min: ${min} must be > 0 (log_uniform samples log(min)..log(max))`);
  if (lines.length > before) return null;
  return { distribution: dist as 'uniform' | 'log_uniform' | 'int', min, max };
}

/** the values a spec may produce that the run config must accept (numeric: both ends) */
const probeValues = (s: ParamSpec): unknown[] => (s.distribution === 'values' ? s.values : [s.min, s.max]);

function checkAgainstBase(base: RunConfig, path: string, spec: ParamSpec, lines: string[]): void {
  const where = paramWhere(path);
  const segs = parsePath(path);
  if (!segs || typeof segs[0] !== 'string') {
    lines.push(
      `${where}: unknown parameter path (a dotted run-config path such as model.dropout; top-level keys: ${Object.keys(base).join(', ')})`,
    );
    return;
  }
  const dotted = formatPath(segs);
  const out = new Set<string>();
  for (const v of probeValues(spec)) {
    const copy = structuredClone(base) as unknown as Obj;
    if (!setAt(copy, segs, structuredClone(v))) {
      lines.push(
        `${where}: unknown parameter path (${dotted} goes through a value that is not a mapping; top-level keys: ${Object.keys(base).join(', ')})`,
      );
      return;
    }
    let errs: string[] = [];
    try {
      parseRunConfig(copy, { unusedKeys: 'drop', keep: [dotted] });
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      errs = e.message.split('\n');
    }
    for (const line of errs) {
      const unknown = /^(.*): unknown key \(allowed: (.*)\)$/.exec(line);
      if (
        unknown &&
        (dotted === unknown[1] || dotted.startsWith(`${unknown[1]}.`) || dotted.startsWith(`${unknown[1]}[`))
      ) {
        const top = !unknown[1]!.includes('.') && !unknown[1]!.includes('[');
        lines.push(
          `${where}: unknown parameter path (${unknown[1]} is not a run-config key; ${top ? 'top-level keys' : 'allowed there'}: ${unknown[2]})`,
        );
        return;
      }
      out.add(line.startsWith(`${dotted}:`) ? `${where}:${line.slice(dotted.length + 1)}` : `${where}: ${line}`);
    }
  }
  lines.push(...out);
}

/** points in the grid of `parameters` (values: their count; int: max - min + 1; continuous: ∞) */
export function spaceSize(parameters: Record<string, ParamSpec>): number {
  let n = 1;
  for (const s of Object.values(parameters)) {
    if (s.distribution === 'values') n *= s.values.length;
    else if (s.distribution === 'int') n *= s.max - s.min + 1;
    else return Infinity;
  }
  return n;
}

// ---- the sweep config ----

/** Validate a sweep config (parsed YAML/JSON) and resolve it. `loadBase` reads the run config
 *  named by `base:` (the caller resolves the path relative to the sweep file). */
export function parseSweepConfig(raw: unknown, loadBase: (path: string) => RunConfig): SweepConfig {
  if (!isObj(raw)) {
    throw new UserError(
      'CONFIG_INVALID',
      problem([], raw, 'must be a mapping of sweep keys (base or run, method, metric, trials, parameters, ...)'),
    );
  }
  const input: Obj = { ...raw };
  for (const k of ['concurrency', 'earlyStopping'] as const) if (input[k] === null) delete input[k];
  if (typeof input.metric === 'string') input.metric = { name: input.metric }; // metric: valLoss
  const result = sweepSchema.safeParse(input);
  const lines = result.success ? [] : formatIssues(result.error.issues, input);

  // the base run config
  let base: RunConfig | null = null;
  if (input.base !== undefined && input.run !== undefined) {
    lines.push(
      `base: ${formatValue(input.base)} cannot be given together with run (give exactly one: a run config file, or the run config inline under run)`,
    );
  } else if (input.run !== undefined) {
    try {
      base = parseRunConfig(input.run);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      lines.push(...e.message.split('\n').map((l) => `run.${l}`));
    }
  } else if (typeof input.base === 'string' && input.base !== '') {
    base = loadBase(input.base);
  } else if (input.base === undefined) {
    base = parseRunConfig({});
  }

  // parameters
  const parameters: Record<string, ParamSpec> = {};
  const rawParams = input.parameters;
  if (rawParams === undefined) {
    lines.push(
      'parameters: missing; it must map run-config paths to search spaces, e.g. model.dropout: { values: [0, 0.2] }',
    );
  } else if (!isObj(rawParams) || Object.keys(rawParams).length === 0) {
    lines.push(
      `parameters: ${formatValue(rawParams)} must be a non-empty mapping of run-config paths to search spaces, e.g. model.dropout: { values: [0, 0.2] }`,
    );
  } else {
    for (const [path, spec] of Object.entries(rawParams)) {
      const s = parseSpec(path, spec, lines);
      if (!s) continue;
      if (base) {
        const before = lines.length;
        checkAgainstBase(base, path, s, lines);
        if (lines.length > before) continue;
      }
      parameters[path] = s;
    }
  }

  const method: SweepMethod = (result.success ? result.data.method : undefined) ?? 'random';
  if (method === 'grid') {
    for (const [path, s] of Object.entries(parameters)) {
      if (s.distribution === 'uniform' || s.distribution === 'log_uniform') {
        lines.push(
          `${paramWhere(path)}: distribution ${s.distribution} cannot be used with method grid (grid needs { values: [...] } or distribution int)`,
        );
      }
    }
  }
  if (!result.success || lines.length > 0 || !base) throw new UserError('CONFIG_INVALID', lines.join('\n'));

  const c = result.data;
  const size = spaceSize(parameters);
  if (method === 'grid' && c.trials !== undefined && c.trials > size) {
    lines.push(`trials: ${c.trials} must be <= ${size}, the size of the grid`);
  }
  const es = c.earlyStopping;
  if (es && !('epochs' in parameters) && (es.minEpochs ?? 1) >= base.epochs) {
    lines.push(
      `earlyStopping.minEpochs: ${es.minEpochs ?? 1} must be < epochs (${base.epochs}) of the base run config, or no trial could be stopped`,
    );
  }
  if (lines.length > 0) throw new UserError('CONFIG_INVALID', lines.join('\n'));

  const metricName = c.metric?.name ?? 'valAccuracy';
  return {
    base,
    method,
    metric: {
      name: metricName,
      goal: c.metric?.goal ?? (metricName === 'valLoss' ? 'minimize' : 'maximize'),
    },
    trials: c.trials ?? (method === 'grid' ? size : 20),
    concurrency: c.concurrency ?? null,
    workersPerTrial: c.workersPerTrial ?? 1,
    seed: c.seed ?? base.seed,
    seeds: c.seeds ?? 1,
    parameters,
    earlyStopping: es ? { type: 'asha', minEpochs: es.minEpochs ?? 1, reductionFactor: es.reductionFactor ?? 3 } : null,
    tpe: {
      startupTrials: c.tpe?.startupTrials ?? 10,
      gamma: c.tpe?.gamma ?? 0.25,
      candidates: c.tpe?.candidates ?? 24,
    },
    narrow: { rounds: c.narrow?.rounds ?? 3, keep: c.narrow?.keep ?? 0.25 },
  };
}

// ---- hashing input and change descriptions ----

/** JSON with the keys of every mapping sorted (undefined members dropped, as JSON.stringify) */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (isObj(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function diffLeaves(a: unknown, b: unknown, where: string, out: string[]): void {
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      const sub = where === 'parameters' ? paramWhere(k) : where === '' ? k : `${where}.${k}`;
      diffLeaves(a[k], b[k], sub, out);
    }
    return;
  }
  if (canonicalJson(a) === canonicalJson(b)) return;
  if (a === undefined) out.push(`${where} added (${formatValue(b)})`);
  else if (b === undefined) out.push(`${where} removed (was ${formatValue(a)})`);
  else out.push(`${where} ${formatValue(a)} → ${formatValue(b)}`);
}

/** One sentence naming what changed from `a` to `b`, e.g.
 *  `changed: trials 40 → 60; parameters["model.dropout"].values [0, 0.2] → [0, 0.2, 0.5]`. */
export function describeChange(a: SweepConfig, b: SweepConfig): string {
  const out: string[] = [];
  diffLeaves(a, b, '', out);
  if (out.length === 0) return 'nothing changed';
  const shown = out.slice(0, 8).join('; ');
  return out.length > 8 ? `changed: ${shown}; and ${out.length - 8} more` : `changed: ${shown}`;
}
