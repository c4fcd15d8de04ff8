// A run's output directory: summary.json, epochs.csv, steps.csv, the final checkpoint — the
// shapes of these files (a run's and a sweep's summary, an epoch row) and the coordinator's one
// home for writing them: atomic writes, CSV, sha256. Files are written atomically (write a
// temporary file, then rename) so a crash never leaves a half-written one behind.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '../../shared/config-types.js';

/** the run's checkpoint in its output directory */
export const CHECKPOINT_FILE = 'checkpoint.gwc';

/** a row of epochs.csv */
export interface EpochRow {
  epoch: number;
  step: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  lr: number;
  samplesPerSecond: number;
  seconds: number;
}

/** summary.json */
export interface RunSummary {
  runId: string;
  mode: 'in-process' | 'distributed';
  workers: number;
  kernel: string;
  model: string;
  paramCount: number;
  dataset: { name: string; samples: number; train: number; val: number; test: number; sha256: string };
  steps: number;
  epochs: number;
  skippedSteps: number;
  resumedFromStep: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  testLoss: number | null;
  testAccuracy: number | null;
  /** true when onEpoch stopped the run before its last epoch */
  stoppedEarly: boolean;
  samplesPerSecond: number;
  trainSeconds: number;
  wallSeconds: number;
  weightsSha256: string;
  config: RunConfig;
}

/** a sweep's summary.json */
export interface SweepSummary {
  sweepId: string;
  method: string;
  trials: number;
  finished: number;
  stopped: number;
  failed: number;
  best: {
    index: number;
    params: Record<string, unknown>;
    valAccuracy: number | null;
    testAccuracy: number | null;
    value: number;
  } | null;
  epochsTrained: number;
  wallSeconds: number;
}

export function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Append rows to a CSV file that already has its header line. */
export function appendCsv(path: string, rows: Array<Record<string, unknown>>, columns: string[]): void {
  if (rows.length > 0) appendFileSync(path, toCsv(rows, columns, false));
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

function csvCell(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = String(v ?? '');
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text of `rows`; without the header line to append to a file that has one */
export function toCsv(rows: Array<Record<string, unknown>>, columns: string[], header = true): string {
  if (!header && rows.length === 0) return '';
  const lines = header ? [columns.join(',')] : [];
  for (const r of rows) lines.push(columns.map((c) => csvCell(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}

export const EPOCH_COLUMNS = [
  'epoch',
  'step',
  'trainLoss',
  'trainAccuracy',
  'valLoss',
  'valAccuracy',
  'lr',
  'samplesPerSecond',
  'seconds',
];
export const STEP_COLUMNS = ['step', 'epoch', 'rows', 'loss', 'accuracy', 'lr', 'gradNorm', 'skipped', 'ms'];

export function writeJson(dir: string, name: string, value: unknown): void {
  writeAtomic(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
}

/** Read a CSV this module wrote (no quoted commas in numeric files); [] when absent. A line
 *  with fewer cells than the header (an append cut short by a crash) is left out. */
export function readCsv(path: string): Array<Record<string, string>> {
  if (!existsSync(path)) return [];
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  if (!header) return [];
  const cols = header.split(',');
  return lines
    .map((l) => l.split(','))
    .filter((cells) => cells.length === cols.length)
    .map((cells) => Object.fromEntries(cols.map((c, i) => [c, cells[i]!])));
}
