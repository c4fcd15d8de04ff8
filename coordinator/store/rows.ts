// The experiment store's rows as SQLite returns them (snake_case columns, JSON as text, NULL for
// a non-finite number) and their conversion to the records of records.ts.
import type { SeedRecord, TrialStatus } from '../../shared/sweep/types.js';
import type { RunKind, RunRecord, RunStatus, StoredEpochRow, SweepRecord, SweepStatus, TrialRow } from './records.js';

export const now = (): string => new Date().toISOString();
export const json = (v: unknown): string => JSON.stringify(v ?? null);
// biome-ignore lint/suspicious/noExplicitAny: JSON columns are typed by each query's row type
export const parse = (s: string | null): any => (s === null ? null : JSON.parse(s));
export const num = (v: number | null): number => (v === null ? NaN : v);

export interface RunDb {
  id: string;
  kind: RunKind;
  sweep_id: string | null;
  config: string;
  status: RunStatus;
  created_at: string;
  finished_at: string | null;
  summary: string | null;
  /** schema 2 on: the run's output folder */
  out_dir?: string | null;
}
export interface SweepDb {
  id: string;
  config: string;
  config_hash: string;
  status: SweepStatus;
  created_at: string;
  finished_at: string | null;
  summary: string | null;
  /** schema 2 on: the sweep's output folder */
  out_dir?: string | null;
}
export interface TrialDb {
  sweep_id: string;
  idx: number;
  run_id: string | null;
  params: string;
  status: TrialStatus;
  value: number | null;
  val_accuracy: number | null;
  epochs: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}
export interface SeedRunDb {
  sweep_id: string;
  idx: number;
  seed_idx: number;
  seed: number;
  run_id: string | null;
  status: TrialStatus;
  value: number | null;
  val_accuracy: number | null;
  epochs: number;
  started_at: string | null;
  finished_at: string | null;
}
export interface MetricDb {
  epoch: number;
  step: number;
  train_loss: number | null;
  train_accuracy: number | null;
  val_loss: number | null;
  val_accuracy: number | null;
  lr: number | null;
  samples_per_second: number | null;
}

export const runRecord = (r: RunDb): RunRecord => ({
  id: r.id,
  kind: r.kind,
  sweepId: r.sweep_id,
  config: parse(r.config),
  status: r.status,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
  summary: parse(r.summary),
  outDir: r.out_dir ?? null,
});
export const sweepRecord = (r: SweepDb): SweepRecord => ({
  id: r.id,
  config: parse(r.config),
  configHash: r.config_hash,
  status: r.status,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
  summary: parse(r.summary),
  outDir: r.out_dir ?? null,
});
export const trialRow = (r: TrialDb): TrialRow => ({
  sweepId: r.sweep_id,
  index: r.idx,
  runId: r.run_id,
  params: parse(r.params),
  status: r.status,
  value: r.value,
  valAccuracy: r.val_accuracy,
  epochs: r.epochs,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});
export const seedRecord = (r: SeedRunDb): SeedRecord => ({
  seedIndex: r.seed_idx,
  seed: r.seed,
  runId: r.run_id,
  status: r.status,
  value: r.value,
  valAccuracy: r.val_accuracy,
  epochs: r.epochs,
});
export const epochRow = (m: MetricDb): StoredEpochRow => ({
  epoch: m.epoch,
  step: m.step,
  trainLoss: num(m.train_loss),
  trainAccuracy: num(m.train_accuracy),
  valLoss: num(m.val_loss),
  valAccuracy: num(m.val_accuracy),
  lr: num(m.lr),
  samplesPerSecond: num(m.samples_per_second),
});
