// The experiment store's records, as its queries return them and its writers pass them: runs,
// their per-epoch metrics, sweeps and their trials. Types only (no SQLite), so the run loop's
// telemetry and the reports can name them without loading the database.
import type { TrialRecord } from '../../shared/sweep/types.js';
import type { EpochRow, RunSummary } from './outputs.js';

export type RunKind = 'run' | 'trial';
export type RunStatus = 'running' | 'finished' | 'stopped' | 'failed';
export type SweepStatus = 'running' | 'finished';
export type TrialEndStatus = 'finished' | 'stopped' | 'failed';

export interface RunRecord {
  id: string;
  kind: RunKind;
  sweepId: string | null;
  config: unknown;
  status: RunStatus;
  createdAt: string;
  finishedAt: string | null;
  summary: RunSummary | null;
  /** its output folder (null when not recorded: stores of schema 1) */
  outDir: string | null;
}

/** one line of `runs()`: the accuracies, mode and workers come from the summary (null until
 *  finished); `epochs` and `lastValAccuracy` from the recorded epochs */
export interface RunListItem {
  id: string;
  kind: RunKind;
  sweepId: string | null;
  status: RunStatus;
  createdAt: string;
  finishedAt: string | null;
  testAccuracy: number | null;
  valAccuracy: number | null;
  mode: RunSummary['mode'] | null;
  workers: number | null;
  /** epochs recorded in the metrics table */
  epochs: number;
  /** validation accuracy of the last recorded epoch (null without one, or when not finite) */
  lastValAccuracy: number | null;
  /** its output folder: a trial's is its sweep's trials/<index> (null when not recorded) */
  outDir: string | null;
}

/** one epoch of a run as the store keeps it: a row of epochs.csv (EpochRow, as the run loop
 *  reports it) less its timing; NaN stands for a non-finite value SQLite stored as NULL */
export type StoredEpochRow = Omit<EpochRow, 'seconds'>;

export interface SweepRecord {
  id: string;
  config: unknown;
  configHash: string;
  status: SweepStatus;
  createdAt: string;
  finishedAt: string | null;
  summary: unknown;
  /** its output folder (null when not recorded) */
  outDir: string | null;
}

/** a trial with its bookkeeping columns (run id, timestamps) */
export interface TrialRow extends Omit<TrialRecord, 'curve'> {
  sweepId: string;
  runId: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}
