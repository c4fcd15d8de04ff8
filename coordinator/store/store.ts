// The experiment store: one embedded SQLite file holding runs, their per-epoch metrics, sweeps
// and their trials. Coordinators (a sweep's, a run's, `train`'s) write to it; several may share
// one file (each write waits its turn, up to 5 s), and other processes may read it at any time
// (WAL: readers never block the writers nor get SQLITE_BUSY from them). Every write is one
// transaction, committed with synchronous = FULL, so it is on disk when the call returns: a
// finished trial is persisted before anyone is told about it.
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { TrialRecord, TrialStatus } from '../../shared/sweep/types.js';
import type { EpochRow as RunEpochRow, RunSummary } from './outputs.js';

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
}

/** one epoch of a run (as the run loop reports it, less its timing); NaN stands for a
 *  non-finite value SQLite stored as NULL */
export type EpochRow = Omit<RunEpochRow, 'seconds'>;

export interface SweepRecord {
  id: string;
  config: unknown;
  configHash: string;
  status: SweepStatus;
  createdAt: string;
  finishedAt: string | null;
  summary: unknown;
}

/** a trial with its bookkeeping columns (run id, timestamps) */
export interface TrialRow extends Omit<TrialRecord, 'curve'> {
  sweepId: string;
  runId: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export const SCHEMA_VERSION = 1;

/** MIGRATIONS[i] takes the schema from version i to version i + 1 */
const MIGRATIONS: string[] = [
  `CREATE TABLE sweeps (
     id TEXT PRIMARY KEY,
     config TEXT NOT NULL CHECK (json_valid(config)),
     config_hash TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('running', 'finished')),
     created_at TEXT NOT NULL,
     finished_at TEXT,
     summary TEXT CHECK (summary IS NULL OR json_valid(summary))
   );
   CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('run', 'trial')),
     sweep_id TEXT REFERENCES sweeps(id),
     config TEXT NOT NULL CHECK (json_valid(config)),
     status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'stopped', 'failed')),
     created_at TEXT NOT NULL,
     finished_at TEXT,
     summary TEXT CHECK (summary IS NULL OR json_valid(summary)),
     CHECK ((kind = 'trial') = (sweep_id IS NOT NULL))
   );
   CREATE INDEX runs_by_sweep ON runs(sweep_id);
   CREATE TABLE metrics (
     run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
     epoch INTEGER NOT NULL,
     step INTEGER NOT NULL,
     train_loss REAL, train_accuracy REAL, val_loss REAL, val_accuracy REAL,
     lr REAL, samples_per_second REAL,
     PRIMARY KEY (run_id, epoch)
   ) WITHOUT ROWID;
   CREATE TABLE trials (
     sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
     idx INTEGER NOT NULL CHECK (idx >= 0),
     run_id TEXT REFERENCES runs(id),
     params TEXT NOT NULL CHECK (json_valid(params)),
     status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'stopped', 'failed')),
     value REAL,
     val_accuracy REAL,
     epochs INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL,
     started_at TEXT,
     finished_at TEXT,
     PRIMARY KEY (sweep_id, idx)
   );
   CREATE INDEX trials_by_run ON trials(run_id);`,
];

const now = (): string => new Date().toISOString();
const json = (v: unknown): string => JSON.stringify(v ?? null);
// biome-ignore lint/suspicious/noExplicitAny: JSON columns are typed by each query's row type
const parse = (s: string | null): any => (s === null ? null : JSON.parse(s));
const num = (v: number | null): number => (v === null ? NaN : v);

interface RunDb {
  id: string;
  kind: RunKind;
  sweep_id: string | null;
  config: string;
  status: RunStatus;
  created_at: string;
  finished_at: string | null;
  summary: string | null;
}
interface SweepDb {
  id: string;
  config: string;
  config_hash: string;
  status: SweepStatus;
  created_at: string;
  finished_at: string | null;
  summary: string | null;
}
interface TrialDb {
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
interface MetricDb {
  epoch: number;
  step: number;
  train_loss: number | null;
  train_accuracy: number | null;
  val_loss: number | null;
  val_accuracy: number | null;
  lr: number | null;
  samples_per_second: number | null;
}

const runRecord = (r: RunDb): RunRecord => ({
  id: r.id,
  kind: r.kind,
  sweepId: r.sweep_id,
  config: parse(r.config),
  status: r.status,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
  summary: parse(r.summary),
});
const sweepRecord = (r: SweepDb): SweepRecord => ({
  id: r.id,
  config: parse(r.config),
  configHash: r.config_hash,
  status: r.status,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
  summary: parse(r.summary),
});
const trialRow = (r: TrialDb): TrialRow => ({
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
const epochRow = (m: MetricDb): EpochRow => ({
  epoch: m.epoch,
  step: m.step,
  trainLoss: num(m.train_loss),
  trainAccuracy: num(m.train_accuracy),
  valLoss: num(m.val_loss),
  valAccuracy: num(m.val_accuracy),
  lr: num(m.lr),
  samplesPerSecond: num(m.samples_per_second),
});

export class Store {
  private constructor(
    readonly path: string,
    private readonly db: Database.Database,
  ) {}

  /** Opens (creating if needed) the store at `path` and brings its schema up to date. With
   *  `readonly`, opens an existing store for reading only: nothing is created or migrated. */
  static open(path: string, opts: { readonly?: boolean } = {}): Store {
    const file = resolve(path),
      dir = dirname(file);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new Error(`cannot open experiment store ${file}: folder ${dir} does not exist`);
    }
    if (opts.readonly && !existsSync(file)) throw new Error(`cannot open experiment store ${file}: no such file`);
    let db: Database.Database | undefined;
    try {
      if (opts.readonly) {
        db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
        db.pragma('busy_timeout = 5000');
        checkVersion(db, file);
        return new Store(file, db);
      }
      db = new Database(file, { timeout: 5000 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      migrate(db, file);
      return new Store(file, db);
    } catch (e) {
      db?.close();
      const code = (e as { code?: unknown }).code;
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
        throw new Error(`cannot open experiment store ${file}: the file is not a SQLite database`, {
          cause: e,
        });
      }
      const msg = (e as Error).message;
      throw msg.includes(file) ? e : new Error(`cannot open experiment store ${file}: ${msg}`, { cause: e });
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- runs -------------------------------------------------------------------------------

  createRun(id: string, kind: RunKind, config: unknown, sweepId?: string | null): void {
    this.write(() =>
      this.db
        .prepare(`INSERT INTO runs (id, kind, sweep_id, config, status, created_at)
      VALUES (?, ?, ?, ?, 'running', ?)`)
        .run(id, kind, sweepId ?? null, json(config), now()),
    );
  }

  finishRun(id: string, status: Exclude<RunStatus, 'running'>, summary: RunSummary | null): void {
    this.write(() => {
      const r = this.db
        .prepare(`UPDATE runs SET status = ?, summary = ?, finished_at = ?
        WHERE id = ? AND status = 'running'`)
        .run(status, summary === null ? null : json(summary), now(), id);
      if (r.changes === 0) throw new Error(`run ${id} ${this.run(id) ? 'is not running' : 'does not exist'}`);
    });
  }

  /** inserts or replaces the metrics of one epoch of a run */
  addEpoch(runId: string, row: EpochRow): void {
    this.write(() =>
      this.db
        .prepare(`INSERT INTO metrics (run_id, epoch, step, train_loss, train_accuracy,
        val_loss, val_accuracy, lr, samples_per_second) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (run_id, epoch) DO UPDATE SET step = excluded.step, train_loss = excluded.train_loss,
        train_accuracy = excluded.train_accuracy, val_loss = excluded.val_loss,
        val_accuracy = excluded.val_accuracy, lr = excluded.lr, samples_per_second = excluded.samples_per_second`)
        .run(
          runId,
          row.epoch,
          row.step,
          row.trainLoss,
          row.trainAccuracy,
          row.valLoss,
          row.valAccuracy,
          row.lr,
          row.samplesPerSecond,
        ),
    );
  }

  epochs(runId: string): EpochRow[] {
    return (this.db.prepare('SELECT * FROM metrics WHERE run_id = ? ORDER BY epoch').all(runId) as MetricDb[]).map(
      epochRow,
    );
  }

  runs(): RunListItem[] {
    return this.db
      .prepare(`SELECT id, kind, sweep_id AS sweepId, status, created_at AS createdAt,
        finished_at AS finishedAt, json_extract(summary, '$.testAccuracy') AS testAccuracy,
        json_extract(summary, '$.valAccuracy') AS valAccuracy, json_extract(summary, '$.mode') AS mode,
        json_extract(summary, '$.workers') AS workers,
        (SELECT count(*) FROM metrics m WHERE m.run_id = r.id) AS epochs,
        (SELECT m.val_accuracy FROM metrics m WHERE m.run_id = r.id ORDER BY m.epoch DESC LIMIT 1) AS lastValAccuracy
      FROM runs r ORDER BY created_at, rowid`)
      .all() as RunListItem[];
  }

  run(id: string): RunRecord | undefined {
    const r = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunDb | undefined;
    return r && runRecord(r);
  }

  // ---- sweeps -----------------------------------------------------------------------------

  createSweep(id: string, config: unknown, configHash: string): void {
    this.write(() =>
      this.db
        .prepare(`INSERT INTO sweeps (id, config, config_hash, status, created_at)
      VALUES (?, ?, ?, 'running', ?)`)
        .run(id, json(config), configHash, now()),
    );
  }

  sweep(id: string): SweepRecord | undefined {
    const r = this.db.prepare('SELECT * FROM sweeps WHERE id = ?').get(id) as SweepDb | undefined;
    return r && sweepRecord(r);
  }

  sweeps(): SweepRecord[] {
    return (this.db.prepare('SELECT * FROM sweeps ORDER BY created_at, rowid').all() as SweepDb[]).map(sweepRecord);
  }

  finishSweep(id: string, summary: unknown): void {
    this.write(() => {
      const r = this.db
        .prepare(`UPDATE sweeps SET status = 'finished', summary = ?, finished_at = ?
        WHERE id = ?`)
        .run(json(summary), now(), id);
      if (r.changes === 0) throw new Error(`sweep ${id} does not exist`);
    });
  }

  /** the most recently created sweep still 'running' (a coordinator died during it), if any */
  latestUnfinishedSweep(): SweepRecord | undefined {
    const r = this.db
      .prepare(`SELECT * FROM sweeps WHERE status = 'running'
      ORDER BY created_at DESC, rowid DESC LIMIT 1`)
      .get() as SweepDb | undefined;
    return r && sweepRecord(r);
  }

  // ---- trials -----------------------------------------------------------------------------

  /** records trial `idx` as queued; throws if the sweep already has a trial `idx` */
  addTrial(sweepId: string, idx: number, params: Record<string, unknown>): void {
    this.write(() => {
      try {
        this.db
          .prepare(`INSERT INTO trials (sweep_id, idx, params, status, created_at)
          VALUES (?, ?, ?, 'queued', ?)`)
          .run(sweepId, idx, json(params), now());
      } catch (e) {
        if ((e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
          throw new Error(`sweep ${sweepId} already has a trial ${idx}`, { cause: e });
        }
        throw e;
      }
    });
  }

  /** queued → running, trained by run `runId` (which must have been created with createRun) */
  startTrial(sweepId: string, idx: number, runId: string): void {
    this.write(() => {
      const r = this.db
        .prepare(`UPDATE trials SET status = 'running', run_id = ?, started_at = ?
        WHERE sweep_id = ? AND idx = ? AND status = 'queued'`)
        .run(runId, now(), sweepId, idx);
      if (r.changes === 0) throw this.trialError(sweepId, idx, 'queued');
    });
  }

  /** queued|running → a final status; durable when it returns */
  finishTrial(
    sweepId: string,
    idx: number,
    status: TrialEndStatus,
    value: number | null,
    valAccuracy: number | null,
    epochs: number,
  ): void {
    this.write(() => {
      const r = this.db
        .prepare(`UPDATE trials SET status = ?, value = ?, val_accuracy = ?, epochs = ?,
          finished_at = ? WHERE sweep_id = ? AND idx = ? AND status IN ('queued', 'running')`)
        .run(status, value, valAccuracy, epochs, now(), sweepId, idx);
      if (r.changes === 0) throw this.trialError(sweepId, idx, 'queued or running');
    });
  }

  /** Puts the trials a killed coordinator left 'running' back to 'queued' (forgetting their run,
   *  which is marked 'failed'); returns how many. */
  requeueRunning(sweepId: string): number {
    return this.write(() => {
      this.db
        .prepare(`UPDATE runs SET status = 'failed', finished_at = ? WHERE status = 'running' AND id IN
        (SELECT run_id FROM trials WHERE sweep_id = ? AND status = 'running')`)
        .run(now(), sweepId);
      return this.db
        .prepare(`UPDATE trials SET status = 'queued', run_id = NULL, started_at = NULL
        WHERE sweep_id = ? AND status = 'running'`)
        .run(sweepId).changes;
    });
  }

  /** the sweep's trials by index, each with its run's per-epoch curve */
  trials(sweepId: string): TrialRecord[] {
    const rows = this.db.prepare('SELECT * FROM trials WHERE sweep_id = ? ORDER BY idx').all(sweepId) as TrialDb[];
    const points = this.db
      .prepare(`SELECT t.idx, m.epoch, m.val_accuracy, m.val_loss, m.train_loss
      FROM trials t JOIN metrics m ON m.run_id = t.run_id WHERE t.sweep_id = ? ORDER BY t.idx, m.epoch`)
      .all(sweepId) as Array<{
      idx: number;
      epoch: number;
      val_accuracy: number | null;
      val_loss: number | null;
      train_loss: number | null;
    }>;
    const curves = new Map<number, TrialRecord['curve']>();
    for (const p of points) {
      let c = curves.get(p.idx);
      if (!c) {
        c = [];
        curves.set(p.idx, c);
      }
      c.push({
        epoch: p.epoch,
        valAccuracy: num(p.val_accuracy),
        valLoss: num(p.val_loss),
        trainLoss: num(p.train_loss),
      });
    }
    return rows.map((r) => ({
      index: r.idx,
      params: parse(r.params),
      status: r.status,
      value: r.value,
      valAccuracy: r.val_accuracy,
      epochs: r.epochs,
      curve: curves.get(r.idx) ?? [],
    }));
  }

  /** the sweep's trials by index with their run ids and timestamps (no curves) */
  trialRows(sweepId: string): TrialRow[] {
    return (this.db.prepare('SELECT * FROM trials WHERE sweep_id = ? ORDER BY idx').all(sweepId) as TrialDb[]).map(
      trialRow,
    );
  }

  /** one trial with its run id and timestamps */
  trial(sweepId: string, idx: number): TrialRow | undefined {
    const r = this.db.prepare('SELECT * FROM trials WHERE sweep_id = ? AND idx = ?').get(sweepId, idx) as
      | TrialDb
      | undefined;
    return r && trialRow(r);
  }

  private trialError(sweepId: string, idx: number, expected: string): Error {
    const t = this.trial(sweepId, idx);
    return new Error(
      t ? `trial ${idx} of sweep ${sweepId} is ${t.status}, not ${expected}` : `sweep ${sweepId} has no trial ${idx}`,
    );
  }

  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}

/** a store opened read-only must already have this gradwire's schema */
function checkVersion(db: Database.Database, file: string): void {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (!table) throw new Error(`${file} is not a gradwire experiment store (no schema_version table)`);
  const version =
    (db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined)?.version ?? 0;
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `experiment store ${file} has schema version ${version}; this gradwire knows up to ${SCHEMA_VERSION}`,
    );
  }
  if (version < SCHEMA_VERSION) {
    throw new Error(
      `experiment store ${file} has the older schema version ${version}; any gradwire command that writes to it (train, sweep) upgrades it`,
    );
  }
}

function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    const version = row?.version ?? 0;
    if (version > MIGRATIONS.length) {
      throw new Error(
        `experiment store ${file} has schema version ${version}; this gradwire knows up to ${SCHEMA_VERSION}`,
      );
    }
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    if (!row) db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(MIGRATIONS.length);
    else if (version !== MIGRATIONS.length) db.prepare('UPDATE schema_version SET version = ?').run(MIGRATIONS.length);
  }).immediate();
}
