// Starting a sweep or resuming one: reading its config (a file, or the lecture preset), the
// out dir's sweep.json marker and the store's record of it (a resumed sweep must have the same
// config; its running trials go back to the queue); and what the config's metric means.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { type RunConfig, splitSeedOf } from '../../shared/config-types.js';
import { UserError } from '../../shared/errors.js';
import { canonicalJson, describeChange, parseSweepConfig } from '../../shared/sweep/config.js';
import { LECTURE_PRESET } from '../../shared/sweep/presets.js';
import type { SweepConfig } from '../../shared/sweep/types.js';
import { loadRunConfig } from '../run/config-file.js';
import { ensureDir, sha256Hex } from '../store/outputs.js';
import { Store } from '../store/store.js';

/** What starting or resuming a sweep needs (of SweepOptions). */
export interface OpenOptions {
  /** the sweep config file, or null with `preset` */
  file: string | null;
  preset: 'lecture' | null;
  outDir: string;
  storePath: string;
  resume: boolean;
  log: Logger;
}

/** The sweep config of a file (`flag` names where it came from: --config, --sweep) or the
 *  lecture preset, validated; a UserError when it cannot be read or is not valid. The
 *  commands call it before their pool listens, so a mistake in it is the first thing said. */
export function readSweepConfig(file: string | null, preset: 'lecture' | null, flag = '--config'): SweepConfig {
  if (preset === 'lecture')
    return parseSweepConfig(LECTURE_PRESET, () => {
      throw new Error('the preset has no base file');
    });
  const abs = resolve(file!);
  let text: string;
  try {
    if (statSync(abs).isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    const what =
      code === 'ENOENT'
        ? 'it does not exist'
        : code === 'EISDIR'
          ? 'it is a folder, not a file'
          : code === 'ENOTDIR'
            ? 'a part of the path is a file, not a folder'
            : code === 'EACCES' || code === 'EPERM'
              ? 'permission denied'
              : code;
    throw new UserError('USAGE', `${flag} ${abs}: ${what}; give the path of a sweep config file`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    // the YAML parser's first line (its excerpt of the file follows on the next ones)
    const first = ((e as Error).message.split('\n')[0] ?? '').replace(/:$/, '');
    throw new UserError('CONFIG_INVALID', `${abs}: not valid YAML: ${first}`);
  }
  return parseSweepConfig(raw, (path: string) => loadRunConfig(resolve(dirname(abs), path)).config);
}

export const metricOf = (cfg: SweepConfig, row: { valAccuracy: number; valLoss: number }): number =>
  cfg.metric.name === 'valAccuracy' ? row.valAccuracy : row.valLoss;

/** The run config of seed run `seedIndex` (run seed `seed`) of a trial whose config is
 *  `trialConfig`: seed run 0 is the trial's config itself (a sweep without seeds trains exactly
 *  that); k >= 1 trains with `seed` on the split and synthetic dataset of the trial's seed
 *  (data.splitSeed). */
export function seedRunConfig(trialConfig: RunConfig, seedIndex: number, seed: number): RunConfig {
  return seedIndex === 0
    ? trialConfig
    : { ...trialConfig, seed, data: { ...trialConfig.data, splitSeed: splitSeedOf(trialConfig) } };
}

/** the output folder of seed run `seedIndex` of trial `index`: trials/<index> for seed run 0
 *  (as without seeds), trials/<index>-s<k> for the others */
export const seedRunDir = (outDir: string, index: number, seedIndex: number): string =>
  join(outDir, 'trials', seedIndex === 0 ? String(index) : `${index}-s${seedIndex}`);

export const better = (cfg: SweepConfig, a: number, b: number): boolean =>
  cfg.metric.goal === 'maximize' ? a > b : a < b;

/** Read the sweep's config, open the store, and start the sweep or resume it (--resume). */
export function openSweep(o: OpenOptions): { sweepId: string; cfg: SweepConfig; store: Store } {
  const cfg = readSweepConfig(o.file, o.preset);
  const hash = sha256Hex(new TextEncoder().encode(canonicalJson(cfg)));
  const marker = join(o.outDir, 'sweep.json');
  // refused before the out folder or the store is made
  if (o.resume && !existsSync(marker))
    throw new UserError(
      'USAGE',
      `--resume: ${o.outDir} holds no sweep to resume (no sweep.json); drop --resume to start one`,
    );
  if (!o.resume && existsSync(marker))
    throw new UserError(
      'USAGE',
      `${o.outDir} already holds a sweep; add --resume to continue it, or choose another --out`,
    );
  ensureDir(o.outDir);
  let store: Store;
  try {
    store = Store.open(o.storePath);
  } catch (e) {
    throw new UserError('USAGE', `--store: ${(e as Error).message}`);
  }
  let sweepId: string;
  if (o.resume) {
    sweepId = (JSON.parse(readFileSync(marker, 'utf8')) as { sweepId: string }).sweepId;
    const row = store.sweep(sweepId);
    if (!row) throw new UserError('USAGE', `--resume: sweep ${sweepId} is not in the store ${o.storePath}`);
    if (row.configHash !== hash) {
      throw new UserError(
        'CONFIG_INVALID',
        `--resume: the sweep config changed since sweep ${sweepId} started: ${describeChange(row.config as SweepConfig, cfg)}; resume with the same config, or start a new sweep with another --out`,
      );
    }
    const n = store.requeueRunning(sweepId);
    o.log.info(
      { event: 'sweep-resume', sweep: sweepId, requeued: n },
      `resuming sweep ${sweepId}: ${n} trial(s) that were running go back to the queue`,
    );
  } else {
    sweepId = `sweep-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;
    store.createSweep(sweepId, cfg, hash, o.outDir);
    writeFileSync(marker, `${JSON.stringify({ sweepId }, null, 2)}\n`);
    o.log.info(
      { event: 'sweep-start', sweep: sweepId, method: cfg.method, trials: cfg.trials },
      `sweep ${sweepId}: ${cfg.method}, ${cfg.trials} trials, metric ${cfg.metric.name} (${cfg.metric.goal})`,
    );
  }
  return { sweepId, cfg, store };
}
