// Starting a sweep or resuming one: reading its config (a file, or the lecture preset), the
// out dir's sweep.json marker and the store's record of it (a resumed sweep must have the same
// config; its running trials go back to the queue); and what the config's metric means.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
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

function readSweep(o: OpenOptions): SweepConfig {
  if (o.preset === 'lecture')
    return parseSweepConfig(LECTURE_PRESET, () => {
      throw new Error('the preset has no base file');
    });
  const file = resolve(o.file!);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      code ? 'USAGE' : 'CONFIG_INVALID',
      code ? `--config: cannot read ${file} (${code})` : `${file}: ${(e as Error).message}`,
    );
  }
  return parseSweepConfig(raw, (path: string) => loadRunConfig(resolve(dirname(file), path)).config);
}

export const metricOf = (cfg: SweepConfig, row: { valAccuracy: number; valLoss: number }): number =>
  cfg.metric.name === 'valAccuracy' ? row.valAccuracy : row.valLoss;

export const better = (cfg: SweepConfig, a: number, b: number): boolean =>
  cfg.metric.goal === 'maximize' ? a > b : a < b;

/** Read the sweep's config, open the store, and start the sweep or resume it (--resume). */
export function openSweep(o: OpenOptions): { sweepId: string; cfg: SweepConfig; store: Store } {
  const cfg = readSweep(o);
  const hash = sha256Hex(new TextEncoder().encode(canonicalJson(cfg)));
  ensureDir(o.outDir);
  const store = Store.open(o.storePath);
  const marker = join(o.outDir, 'sweep.json');
  let sweepId: string;
  if (o.resume) {
    if (!existsSync(marker))
      throw new UserError(
        'USAGE',
        `--resume: ${o.outDir} holds no sweep to resume (no sweep.json); drop --resume to start one`,
      );
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
    if (existsSync(marker))
      throw new UserError(
        'USAGE',
        `${o.outDir} already holds a sweep; add --resume to continue it, or choose another --out`,
      );
    sweepId = `sweep-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;
    store.createSweep(sweepId, cfg, hash);
    writeFileSync(marker, `${JSON.stringify({ sweepId }, null, 2)}\n`);
    o.log.info(
      { event: 'sweep-start', sweep: sweepId, method: cfg.method, trials: cfg.trials },
      `sweep ${sweepId}: ${cfg.method}, ${cfg.trials} trials, metric ${cfg.metric.name} (${cfg.metric.goal})`,
    );
  }
  return { sweepId, cfg, store };
}
