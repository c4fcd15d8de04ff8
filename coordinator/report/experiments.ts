// What the experiment stores hold, for `gradwire runs` and `gradwire report`: which stores to
// read, the runs and sweeps listed (a table or JSON), and one found by its id or a prefix.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { UserError } from '../../shared/errors.js';
import type { SweepConfig, TrialRecord } from '../../shared/sweep/types.js';
import { Store, type RunKind, type RunRecord, type SweepRecord } from '../store/store.js';
import type { SweepSummary } from '../store/outputs.js';

// ---- finding the stores ---------------------------------------------------------------------

export const STORE_ENV = 'GRADWIRE_STORE';

/** The stores `runs` and `report` read when no --store is given, in this order: $GRADWIRE_STORE,
 *  runs/gradwire.db, sweeps/<each>/gradwire.db, ./gradwire.db (relative to `cwd`); only those
 *  that exist. `searched` says where it looked, for messages. */
export function defaultStores(cwd: string, env: NodeJS.ProcessEnv): { paths: string[]; searched: string } {
  const paths: string[] = [];
  const add = (p: string): void => {
    const abs = resolve(cwd, p);
    if (!paths.includes(abs) && existsSync(abs) && statSync(abs).isFile()) paths.push(abs);
  };
  const fromEnv = env[STORE_ENV];
  if (fromEnv) add(fromEnv);
  add('runs/gradwire.db');
  const sweeps = resolve(cwd, 'sweeps');
  if (existsSync(sweeps) && statSync(sweeps).isDirectory()) {
    for (const d of readdirSync(sweeps).sort()) add(join('sweeps', d, 'gradwire.db'));
  }
  add('gradwire.db');
  const searched = `${fromEnv ? `${STORE_ENV} (${resolve(cwd, fromEnv)}), ` : ''}runs/gradwire.db, sweeps/*/gradwire.db and ./gradwire.db in ${cwd}`;
  return { paths, searched };
}

export interface OpenStores {
  stores: Store[];
  /** where they came from, for messages */
  searched: string;
  /** stores found but not readable (skipped) */
  warnings: string[];
}

/** Opens, read-only, the stores named by --store (each must be readable) or else the default
 *  ones (an unreadable one is skipped with a warning). Throws when there is none. */
export function openStores(explicit: string[], cwd: string, env: NodeJS.ProcessEnv): OpenStores {
  if (explicit.length > 0) {
    const stores: Store[] = [];
    try {
      for (const p of explicit) {
        const abs = resolve(cwd, p);
        if (!existsSync(abs)) throw new UserError('USAGE', `--store: no experiment store at ${abs} (no such file)`);
        try {
          if (!stores.some((s) => s.path === abs)) stores.push(Store.open(abs, { readonly: true }));
        } catch (e) {
          throw new UserError('USAGE', `--store: ${(e as Error).message}`);
        }
      }
    } catch (e) {
      for (const s of stores) s.close();
      throw e;
    }
    return { stores, searched: stores.map((s) => s.path).join(', '), warnings: [] };
  }
  const { paths, searched } = defaultStores(cwd, env);
  const stores: Store[] = [],
    warnings: string[] = [];
  for (const p of paths) {
    try {
      stores.push(Store.open(p, { readonly: true }));
    } catch (e) {
      warnings.push(`skipping ${p}: ${(e as Error).message}`);
    }
  }
  if (stores.length === 0) {
    throw new UserError(
      'USAGE',
      `no experiment store found in ${searched}; run gradwire train or sweep first, or pass --store FILE` +
        (warnings.length ? ` (${warnings.join('; ')})` : ''),
    );
  }
  return { stores, searched, warnings };
}

// ---- listing ----------------------------------------------------------------------------------

export interface ListedItem {
  id: string;
  kind: RunKind | 'sweep';
  /** a trial's status is the trial's (stopped = stopped early by ASHA) */
  status: string;
  store: string;
  createdAt: string;
  finishedAt: string | null;
  /** epochs recorded (a sweep: summed over its trials) */
  epochs: number;
  /** a run's at its end (or its last recorded epoch); a sweep's best trial's */
  valAccuracy: number | null;
  /** a run's (trials are not evaluated on the test split); a sweep's best configuration's */
  testAccuracy: number | null;
  /** runs: 'in-process' | 'distributed' and the workers that took part (null until finished) */
  mode: string | null;
  workers: number | null;
  /** the folder of its outputs (null: a store from before it was recorded) */
  outDir: string | null;
  /** trials: their sweep and index */
  sweepId: string | null;
  trial: number | null;
  /** sweeps: trials ended (finished, stopped or failed), trials planned, and the best so far */
  trials: number | null;
  trialsPlanned: number | null;
  best: {
    index: number;
    params: Record<string, unknown>;
    valAccuracy: number | null;
    testAccuracy: number | null;
    value: number;
  } | null;
}

export const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** the best finished or stopped trial by the sweep's metric (what finishSweep chooses) */
function bestTrial(
  cfg: SweepConfig,
  trials: Array<Pick<TrialRecord, 'index' | 'params' | 'status' | 'value' | 'valAccuracy'>>,
): ListedItem['best'] {
  let best: ListedItem['best'] = null;
  for (const t of trials) {
    if ((t.status !== 'finished' && t.status !== 'stopped') || !finite(t.value)) continue;
    if (!best || (cfg.metric.goal === 'maximize' ? t.value > best.value : t.value < best.value)) {
      best = {
        index: t.index,
        params: t.params,
        valAccuracy: t.valAccuracy,
        testAccuracy: null,
        value: t.value,
      };
    }
  }
  return best;
}

export function sweepBest(
  rec: SweepRecord,
  trials: Array<Pick<TrialRecord, 'index' | 'params' | 'status' | 'value' | 'valAccuracy'>>,
): ListedItem['best'] {
  const s = rec.summary as Partial<SweepSummary> | null;
  if (s && s.best !== undefined) return s.best;
  return bestTrial(rec.config as SweepConfig, trials);
}

/** every run and sweep of the stores, oldest first; trials (with `all`) right after their sweep */
export function listExperiments(stores: Store[], opts: { all: boolean }): ListedItem[] {
  const top: ListedItem[] = [];
  const trialsOf = new Map<string, ListedItem[]>();
  for (const store of stores) {
    const sweeps = store.sweeps();
    const indexOf = new Map<string, { index: number; status: string }>();
    for (const sw of sweeps) {
      const rows = store.trialRows(sw.id);
      for (const t of rows) if (t.runId) indexOf.set(t.runId, { index: t.index, status: t.status });
      const best = sweepBest(sw, rows);
      top.push({
        id: sw.id,
        kind: 'sweep',
        status: sw.status,
        store: store.path,
        createdAt: sw.createdAt,
        finishedAt: sw.finishedAt,
        epochs: rows.reduce((a, t) => a + t.epochs, 0),
        valAccuracy: best?.valAccuracy ?? null,
        testAccuracy: best?.testAccuracy ?? null,
        mode: null,
        workers: null,
        outDir: sw.outDir ?? null,
        sweepId: null,
        trial: null,
        trials: rows.filter((t) => ['finished', 'stopped', 'failed'].includes(t.status)).length,
        trialsPlanned: (sw.config as Partial<SweepConfig>).trials ?? null,
        best,
      });
    }
    for (const r of store.runs()) {
      const t = indexOf.get(r.id);
      const item: ListedItem = {
        id: r.id,
        kind: r.kind,
        status: t?.status ?? r.status,
        store: store.path,
        createdAt: r.createdAt,
        finishedAt: r.finishedAt,
        epochs: r.epochs,
        valAccuracy: r.valAccuracy ?? r.lastValAccuracy,
        testAccuracy: r.testAccuracy,
        mode: r.mode,
        workers: r.workers,
        outDir: r.outDir ?? null,
        sweepId: r.sweepId,
        trial: t?.index ?? trialIndexFromId(r.id),
        trials: null,
        trialsPlanned: null,
        best: null,
      };
      if (r.kind === 'run') top.push(item);
      else if (opts.all) {
        const key = `${store.path}\n${r.sweepId}`;
        trialsOf.set(key, [...(trialsOf.get(key) ?? []), item]);
      }
    }
  }
  top.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  const out: ListedItem[] = [];
  const placed = new Set<string>();
  for (const item of top) {
    out.push(item);
    if (item.kind !== 'sweep') continue;
    const key = `${item.store}\n${item.id}`;
    placed.add(key);
    out.push(
      ...(trialsOf.get(key) ?? []).sort(
        (a, b) => (a.trial ?? 0) - (b.trial ?? 0) || (a.createdAt < b.createdAt ? -1 : 1),
      ),
    );
  }
  // trials whose sweep is not in the store (should not happen): at the end
  for (const [key, items] of trialsOf) if (!placed.has(key)) out.push(...items);
  return out;
}

/** a trial run's index from its id (`<sweep>-t<i>`, `<sweep>-t<i>-r<k>` for a rerun) */
export function trialIndexFromId(id: string): number | null {
  const m = /-t(\d+)(?:-r\d+)?$/.exec(id);
  return m ? Number(m[1]) : null;
}

export const pct2 = (v: number | null | undefined): string => (finite(v) ? `${(v * 100).toFixed(2)}%` : '-');

/** a fraction in [0, 1] as a percentage with one decimal (the reports' charts and findings) */
export const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

/** a number for people: 3 significant digits, exponent form when very small or large */
export function fmtNum(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace(/\.0e/, 'e');
  return String(+v.toPrecision(3));
}

/** an ISO timestamp as "YYYY-MM-DD HH:MM:SS" (UTC) */
export function when(iso: string | null): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-';
}

/** the plain, aligned text table of `gradwire runs` */
export function formatTable(items: ListedItem[], cwd: string): string {
  const head = [
    'ID',
    'KIND',
    'STATUS',
    'CREATED (UTC)',
    'EPOCHS',
    'VAL ACC',
    'TEST ACC',
    'MODE',
    'TRIALS',
    'BEST',
    'FOLDER',
  ];
  const rows = items.map((i) => [
    i.kind === 'trial' ? `  ${i.id}` : i.id,
    i.kind,
    i.status,
    when(i.createdAt),
    String(i.epochs),
    pct2(i.valAccuracy),
    pct2(i.testAccuracy),
    i.kind === 'sweep'
      ? '-'
      : i.mode === 'distributed'
        ? `${i.workers ?? '?'} worker${i.workers === 1 ? '' : 's'}`
        : (i.mode ?? '-'),
    i.kind === 'sweep'
      ? `${i.trials}/${i.trialsPlanned ?? '?'}`
      : i.kind === 'trial' && i.trial !== null
        ? `#${i.trial}`
        : '-',
    i.best ? `#${i.best.index}` : '-',
    i.outDir ? shortPath(i.outDir, cwd) : '-',
  ]);
  const numeric = new Set([4, 5, 6]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((s, c) => (numeric.has(c) ? s.padStart(widths[c]!) : s.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const stores = [...new Set(items.map((i) => i.store))].map((p) => shortPath(p, cwd));
  return [
    line(head),
    ...rows.map(line),
    '',
    `${items.length} item${items.length === 1 ? '' : 's'} from ${stores.join(', ')}; gradwire report ID writes the report of one`,
    '',
  ].join('\n');
}

function shortPath(p: string, cwd: string): string {
  const rel = relative(cwd, p);
  return rel && !rel.startsWith('..') && rel.length < p.length ? rel : p;
}

// ---- finding one experiment -------------------------------------------------------------------

export type Found = { kind: 'run'; store: Store; run: RunRecord } | { kind: 'sweep'; store: Store; sweep: SweepRecord };

/** a run (kind run or trial) or sweep with this id; else the only one whose id starts with it
 *  (or, among several, the one whose id begins all the others': a sweep before its trials) */
export function findExperiment(stores: Store[], id: string): Found | null {
  for (const store of stores) {
    const run = store.run(id);
    if (run) return { kind: 'run', store, run };
    const sweep = store.sweep(id);
    if (sweep) return { kind: 'sweep', store, sweep };
  }
  const matches: Array<{ store: Store; id: string; kind: 'run' | 'sweep'; sweepId: string | null }> = [];
  for (const store of stores) {
    for (const s of store.sweeps())
      if (s.id.startsWith(id)) matches.push({ store, id: s.id, kind: 'sweep', sweepId: null });
    for (const r of store.runs())
      if (r.id.startsWith(id)) matches.push({ store, id: r.id, kind: 'run', sweepId: r.sweepId });
  }
  // a sweep wins over its own trials (their ids begin with the sweep's); anything else is ambiguous
  const first = matches.find((m) => m.kind === 'sweep' && matches.every((o) => o === m || o.sweepId === m.id));
  if (matches.length > 1 && first) matches.splice(0, matches.length, first);
  if (matches.length > 1) {
    const names = matches
      .slice(0, 8)
      .map((m) => m.id)
      .join(', ');
    throw new UserError(
      'USAGE',
      `"${id}" is the beginning of ${matches.length} ids (${names}${matches.length > 8 ? ', …' : ''}); give more of it`,
    );
  }
  const m = matches[0];
  if (!m) return null;
  return m.kind === 'run'
    ? { kind: 'run', store: m.store, run: m.store.run(m.id)! }
    : { kind: 'sweep', store: m.store, sweep: m.store.sweep(m.id)! };
}
