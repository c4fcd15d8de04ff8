// Which trained model a command means by --model RUN: a run folder (checkpoint.gwc and
// config.json), a checkpoint file itself, a run id (or the unique beginning of one) from the
// experiment stores (its out folder), or a sweep id (its best trial's folder). Every problem is
// one UserError sentence: exit 2.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeCheckpoint, type Checkpoint } from '../../shared/checkpoint.js';
import { UserError } from '../../shared/errors.js';
import { findExperiment, openStores } from '../report/experiments.js';
import { CHECKPOINT_FILE, type RunSummary, type SweepSummary } from '../store/outputs.js';

export interface ResolvedModel {
  /** the run folder (the checkpoint's folder) */
  dir: string;
  checkpointPath: string;
  checkpoint: Checkpoint;
  /** the run's summary.json, when there is one */
  summary: Partial<RunSummary> | null;
  /** the run's model.json (written at the end of train and coordinator runs), when there is one */
  info: ModelInfo | null;
  /** how RUN was understood, for messages: "run folder X", "run R (folder X)", "sweep S, best trial #i (folder X)" */
  what: string;
}

/** model.json: what predict needs besides the checkpoint, recorded when the run ends */
export interface ModelInfo {
  features: number;
  classes: number;
  classNames: string[];
  /** the folder the config's data paths are relative to */
  dataDir: string;
}

export const MODEL_INFO = 'model.json';

const fail = (msg: string): never => {
  throw new UserError('USAGE', `--model ${msg}`);
};

/** the checkpoint of a folder or file, decoded; `what` says how `ref` was understood */
function fromPath(ref: string, abs: string, what: string): ResolvedModel {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(abs);
  } catch {
    return fail(`${ref}: ${what} ${abs} does not exist (moved or deleted?)`);
  }
  const dir = st.isDirectory() ? abs : resolve(abs, '..');
  const checkpointPath = st.isDirectory() ? join(abs, CHECKPOINT_FILE) : abs;
  if (!existsSync(checkpointPath))
    fail(
      `${ref}: ${what} ${abs} holds no model (no ${CHECKPOINT_FILE}); give a finished run's folder, run id or sweep id (gradwire runs lists them)`,
    );
  let bytes: Buffer;
  try {
    bytes = readFileSync(checkpointPath);
  } catch (e) {
    return fail(`${ref}: cannot read ${checkpointPath} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = decodeCheckpoint(bytes, checkpointPath);
  } catch (e) {
    const why = (e as Error).message.startsWith(checkpointPath)
      ? (e as Error).message.slice(checkpointPath.length + 2)
      : (e as Error).message;
    return fail(
      `${ref}: ${checkpointPath} is not a usable gradwire checkpoint, or it is truncated (${why.replace(/\s*\n\s*/g, ' ')})`,
    );
  }
  let summary: Partial<RunSummary> | null = null;
  try {
    summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Partial<RunSummary>;
  } catch {
    summary = null;
  }
  let info: ModelInfo | null = null;
  try {
    const i = JSON.parse(readFileSync(join(dir, MODEL_INFO), 'utf8')) as Partial<ModelInfo>;
    if (
      Number.isSafeInteger(i.features) &&
      Number.isSafeInteger(i.classes) &&
      Array.isArray(i.classNames) &&
      i.classNames.length === i.classes &&
      typeof i.dataDir === 'string'
    )
      info = i as ModelInfo;
  } catch {
    info = null;
  }
  return { dir, checkpointPath, checkpoint, summary, info, what: `${what} ${dir}` };
}

/**
 * --model RUN: a folder or file when the path exists, else an id looked up in the stores
 * (`stores`: the --store flags, else the default stores of `gradwire runs`).
 */
export function resolveModel(
  ref: string,
  opts: { cwd: string; env: NodeJS.ProcessEnv; stores?: string[] },
): ResolvedModel {
  if (ref === '') fail('"": give a run folder, a run id or a sweep id');
  const abs = resolve(opts.cwd, ref);
  if (existsSync(abs)) return fromPath(ref, abs, statSync(abs).isDirectory() ? 'folder' : 'file');
  let opened: ReturnType<typeof openStores>;
  try {
    opened = openStores(opts.stores ?? [], opts.cwd, opts.env);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return fail(
      `${ref}: no such folder, and no experiment store to look it up in as a run or sweep id (${e.message.replace(/^no experiment store found in /, 'searched ')})`,
    );
  }
  const { stores, searched, warnings } = opened;
  try {
    for (const w of warnings) process.stderr.write(`gradwire: warning: ${w}\n`);
    const found = findExperiment(stores, ref);
    if (!found)
      return fail(
        `${ref}: no such folder, and no run or sweep "${ref}" in ${searched}; gradwire runs lists them (--all with the trials)`,
      );
    if (found.kind === 'run') {
      const id = found.run.id;
      const outDir = found.run.outDir ?? found.store.runs().find((r) => r.id === id)?.outDir ?? null;
      if (!outDir) return fail(`${ref}: run ${id} has no recorded out folder (a store from an older gradwire)`);
      return fromPath(ref, outDir, `run ${id}: folder`);
    }
    const sweep = found.sweep;
    const best = (sweep.summary as Partial<SweepSummary> | null)?.best;
    if (!best)
      return fail(
        `${ref}: sweep ${sweep.id} has no best trial yet (${sweep.status}); wait for it to finish, or give one of its trials' run ids`,
      );
    if (!sweep.outDir)
      return fail(`${ref}: sweep ${sweep.id} has no recorded out folder (a store from an older gradwire)`);
    return fromPath(
      ref,
      join(sweep.outDir, 'trials', String(best.index)),
      `sweep ${sweep.id}, best trial #${best.index}: folder`,
    );
  } finally {
    for (const s of stores) s.close();
  }
}
