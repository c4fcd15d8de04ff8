// A run's output directory: summary.json, epochs.csv, steps.csv, the final checkpoint — the
// shapes of these files (a run's and a sweep's summary, an epoch row) and the coordinator's
// entry to writing them. Files are written atomically (shared/node/files.ts: write a temporary
// file, then rename) so a crash never leaves a half-written one behind; CSV text comes from
// shared/data/csv.ts, sha256 from shared/node/hash.ts (re-exported here for the coordinator).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '../../shared/config-types.js';
import { toCsv } from '../../shared/data/csv.js';
import { writeAtomic } from '../../shared/node/files.js';
import type { Spread } from '../../shared/sweep/stats.js';

export { toCsv } from '../../shared/data/csv.js';
export { writeAtomic } from '../../shared/node/files.js';
export { sha256Hex } from '../../shared/node/hash.js';

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

/** How a run's gradients are computed: one thread (the reference), the compute threads of this
 *  process (`gradwire train`), or worker processes over WebSockets. */
export type RunMode = 'in-process' | 'threads' | 'distributed';

/** summary.json */
export interface RunSummary {
  runId: string;
  mode: RunMode;
  workers: number;
  /** compute threads of a 'threads' run (absent otherwise) */
  threads?: number;
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
    /** with seeds: the means over the trial's seed runs */
    valAccuracy: number | null;
    testAccuracy: number | null;
    value: number;
    /** seeds (issue 16): `value`, `valAccuracy` and `testAccuracy` over the seed runs (mean, sd,
     *  95% interval; n = 1 without seeds) */
    spread?: Spread | null;
    valAccuracySpread?: Spread | null;
    testAccuracySpread?: Spread | null;
    /** each seed run of the best trial, with its test accuracy */
    seeds?: Array<{
      seedIndex: number;
      seed: number;
      runId: string | null;
      status: string;
      value: number | null;
      valAccuracy: number | null;
      testAccuracy: number | null;
      epochs: number;
    }>;
  } | null;
  /** K: seed runs per trial */
  seeds?: number;
  epochsTrained: number;
  wallSeconds: number;
}

/** Append rows to a CSV file that already has its header line. */
export function appendCsv(path: string, rows: Array<Record<string, unknown>>, columns: string[]): void {
  if (rows.length > 0) appendFileSync(path, toCsv(rows, columns, false));
}

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
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
