// The experiment store: one embedded SQLite file holding runs, their per-epoch metrics, sweeps
// and their trials. Coordinators (a sweep's, a run's, `train`'s) write to it; several may share
// one file (each write waits its turn, up to 5 s), and other processes may read it at any time
// (WAL: readers never block the writers nor get SQLITE_BUSY from them). Every write is one
// transaction, committed with synchronous = FULL, so it is on disk when the call returns: a
// finished trial is persisted before anyone is told about it.
// This file: the Store (opening, runs, sweeps, trials); the records it returns are in
// records.ts, the SQLite rows behind them in rows.ts, the schema and its migrations in schema.ts.
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { spread } from '../../shared/sweep/stats.js';
import type { SeedRecord, TrialRecord } from '../../shared/sweep/types.js';
import type { RunSummary } from './outputs.js';
import type {
  RunKind,
  RunListItem,
  RunRecord,
  RunStatus,
  StoredEpochRow,
  SweepRecord,
  TrialEndStatus,
  TrialRow,
} from './records.js';
import {
  epochRow,
  json,
  type MetricDb,
  now,
  num,
  parse,
  type RunDb,
  runRecord,
  type SeedRunDb,
  seedRecord,
  type SweepDb,
  sweepRecord,
  type TrialDb,
  trialRow,
} from './rows.js';
import { SCHEMA_VERSION, checkVersion, migrate } from './schema.js';

export type {
  RunKind,
  RunListItem,
  RunRecord,
  RunStatus,
  StoredEpochRow,
  SweepRecord,
  SweepStatus,
  TrialEndStatus,
  TrialRow,
} from './records.js';
export { SCHEMA_VERSION } from './schema.js';

export class Store {
  /** the output folders of runs not yet created (expectRun), by run id */
  private readonly pendingOutDirs = new Map<string, string>();

  private constructor(
    readonly path: string,
    private readonly db: Database.Database,
    /** its schema version: a reader may hold an older store than SCHEMA_VERSION */
    private readonly version: number = SCHEMA_VERSION,
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
        return new Store(file, db, checkVersion(db, file));
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

  /** Records run `id` as running; its output folder is `outDir`, else the one expectRun gave. */
  createRun(id: string, kind: RunKind, config: unknown, sweepId?: string | null, outDir?: string): void {
    const dir = outDir ?? this.pendingOutDirs.get(id) ?? null;
    this.write(() =>
      this.db
        .prepare(`INSERT INTO runs (id, kind, sweep_id, config, status, created_at, out_dir)
      VALUES (?, ?, ?, ?, 'running', ?, ?)`)
        .run(id, kind, sweepId ?? null, json(config), now(), dir),
    );
    this.pendingOutDirs.delete(id);
  }

  /** The run `id` this process is about to start writes its outputs to `outDir`: createRun
   *  records that folder with it (the command line knows the folder, the run loop creates the
   *  row). */
  expectRun(id: string, outDir: string): void {
    this.pendingOutDirs.set(id, outDir);
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
  addEpoch(runId: string, row: StoredEpochRow): void {
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

  epochs(runId: string): StoredEpochRow[] {
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
        (SELECT m.val_accuracy FROM metrics m WHERE m.run_id = r.id ORDER BY m.epoch DESC LIMIT 1) AS lastValAccuracy,
        ${
          this.version >= 2
            ? `coalesce(r.out_dir, (SELECT s.out_dir || '/trials/' || t.idx FROM trials t JOIN sweeps s
                ON s.id = t.sweep_id WHERE t.run_id = r.id))`
            : 'NULL'
        } AS outDir
      FROM runs r ORDER BY created_at, rowid`)
      .all() as RunListItem[];
  }

  run(id: string): RunRecord | undefined {
    const r = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunDb | undefined;
    return r && runRecord(r);
  }

  // ---- sweeps -----------------------------------------------------------------------------

  /** Records sweep `id` as running, with its output folder (its trials' are outDir/trials/<i>). */
  createSweep(id: string, config: unknown, configHash: string, outDir?: string): void {
    this.write(() =>
      this.db
        .prepare(`INSERT INTO sweeps (id, config, config_hash, status, created_at, out_dir)
      VALUES (?, ?, ?, 'running', ?, ?)`)
        .run(id, json(config), configHash, now(), outDir ?? null),
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

  /** records trial `idx` as queued, with one queued seed run per entry of `seeds` (seed run k
   *  trains with run seed `seeds[k]`); throws if the sweep already has a trial `idx` */
  addTrial(sweepId: string, idx: number, params: Record<string, unknown>, seeds: readonly number[] = []): void {
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
      const add = this.db.prepare(`INSERT INTO seed_runs (sweep_id, idx, seed_idx, seed, status)
        VALUES (?, ?, ?, ?, 'queued')`);
      seeds.forEach((seed, k) => add.run(sweepId, idx, k, seed));
    });
  }

  /** Seed run `seedIdx` of trial `idx`: queued → running, trained by run `runId` (created with
   *  createRun). The trial becomes running (its run id: seed run 0's). */
  startSeedRun(sweepId: string, idx: number, seedIdx: number, runId: string): void {
    this.write(() => {
      const r = this.db
        .prepare(`UPDATE seed_runs SET status = 'running', run_id = ?, started_at = ?
        WHERE sweep_id = ? AND idx = ? AND seed_idx = ? AND status = 'queued'`)
        .run(runId, now(), sweepId, idx, seedIdx);
      if (r.changes === 0) throw this.seedError(sweepId, idx, seedIdx, 'queued');
      this.db
        .prepare(`UPDATE trials SET status = 'running', started_at = coalesce(started_at, ?),
          run_id = CASE WHEN ? = 0 OR run_id IS NULL THEN ? ELSE run_id END
        WHERE sweep_id = ? AND idx = ? AND status IN ('queued', 'running')`)
        .run(now(), seedIdx, runId, sweepId, idx);
    });
  }

  /** seed run `seedIdx` of trial `idx`: queued|running → a final status; durable when it returns */
  finishSeedRun(
    sweepId: string,
    idx: number,
    seedIdx: number,
    status: TrialEndStatus,
    value: number | null,
    valAccuracy: number | null,
    epochs: number,
  ): void {
    this.write(() => {
      const r = this.db
        .prepare(`UPDATE seed_runs SET status = ?, value = ?, val_accuracy = ?, epochs = ?, finished_at = ?
        WHERE sweep_id = ? AND idx = ? AND seed_idx = ? AND status IN ('queued', 'running')`)
        .run(status, value, valAccuracy, epochs, now(), sweepId, idx, seedIdx);
      if (r.changes === 0) throw this.seedError(sweepId, idx, seedIdx, 'queued or running');
    });
  }

  /** the seed runs of trial `idx` by seed index (none: a trial recorded without seed runs, or a
   *  store of schema 2 or older opened read-only) */
  seedRuns(sweepId: string, idx: number): SeedRecord[] {
    if (this.version < 3) return [];
    return (
      this.db
        .prepare('SELECT * FROM seed_runs WHERE sweep_id = ? AND idx = ? ORDER BY seed_idx')
        .all(sweepId, idx) as SeedRunDb[]
    ).map(seedRecord);
  }

  private seedError(sweepId: string, idx: number, seedIdx: number, expected: string): Error {
    const r = this.seedRuns(sweepId, idx).find((s) => s.seedIndex === seedIdx);
    return new Error(
      r
        ? `seed run ${seedIdx} of trial ${idx} of sweep ${sweepId} is ${r.status}, not ${expected}`
        : `trial ${idx} of sweep ${sweepId} has no seed run ${seedIdx}`,
    );
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

  /** queued|running → a final status; durable when it returns. `seedValues`: the value and
   *  valAccuracy each seed run is counted with (a trial stopped by ASHA: its seed runs' values at
   *  the rung), written to the seed runs in the same transaction. */
  finishTrial(
    sweepId: string,
    idx: number,
    status: TrialEndStatus,
    value: number | null,
    valAccuracy: number | null,
    epochs: number,
    seedValues?: ReadonlyArray<{ seedIndex: number; value: number | null; valAccuracy: number | null }>,
  ): void {
    this.write(() => {
      const set = this.db.prepare(
        'UPDATE seed_runs SET value = ?, val_accuracy = ? WHERE sweep_id = ? AND idx = ? AND seed_idx = ?',
      );
      for (const x of seedValues ?? []) set.run(x.value, x.valAccuracy, sweepId, idx, x.seedIndex);
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
        .prepare(`UPDATE runs SET status = 'failed', finished_at = ? WHERE status = 'running' AND (id IN
        (SELECT run_id FROM trials WHERE sweep_id = ? AND status = 'running') OR id IN
        (SELECT run_id FROM seed_runs WHERE sweep_id = ? AND status = 'running'))`)
        .run(now(), sweepId, sweepId);
      // the seed runs that were running start again; those that ended keep their results
      this.db
        .prepare(`UPDATE seed_runs SET status = 'queued', run_id = NULL, started_at = NULL
        WHERE sweep_id = ? AND status = 'running'`)
        .run(sweepId);
      return this.db
        .prepare(`UPDATE trials SET status = 'queued', started_at = NULL, run_id = (SELECT s.run_id
          FROM seed_runs s WHERE s.sweep_id = trials.sweep_id AND s.idx = trials.idx AND s.seed_idx = 0)
        WHERE sweep_id = ? AND status = 'running'`)
        .run(sweepId).changes;
    });
  }

  /** the sweep's trials by index, each with its per-epoch curve (the mean over its seed runs
   *  that reached the epoch), and its seed runs and their spread when it has seed runs */
  trials(sweepId: string): TrialRecord[] {
    const rows = this.db.prepare('SELECT * FROM trials WHERE sweep_id = ? ORDER BY idx').all(sweepId) as TrialDb[];
    const seedRows =
      this.version >= 3
        ? (this.db
            .prepare('SELECT * FROM seed_runs WHERE sweep_id = ? ORDER BY idx, seed_idx')
            .all(sweepId) as SeedRunDb[])
        : [];
    const seeds = new Map<number, SeedRecord[]>();
    for (const r of seedRows) {
      const l = seeds.get(r.idx) ?? [];
      if (l.length === 0) seeds.set(r.idx, l);
      l.push(seedRecord(r));
    }
    // the metrics of the seed runs, or of the trial's run when it has no seed runs; summed over
    // the seed runs in seed order
    const points = this.db
      .prepare(
        this.version >= 3
          ? `SELECT s.idx, m.epoch, m.val_accuracy, m.val_loss, m.train_loss, s.seed_idx
            FROM seed_runs s JOIN metrics m ON m.run_id = s.run_id WHERE s.sweep_id = @sweep
            UNION ALL
            SELECT t.idx, m.epoch, m.val_accuracy, m.val_loss, m.train_loss, -1
            FROM trials t JOIN metrics m ON m.run_id = t.run_id WHERE t.sweep_id = @sweep AND NOT EXISTS
              (SELECT 1 FROM seed_runs s WHERE s.sweep_id = t.sweep_id AND s.idx = t.idx)
            ORDER BY 1, 2, 6`
          : `SELECT t.idx, m.epoch, m.val_accuracy, m.val_loss, m.train_loss
            FROM trials t JOIN metrics m ON m.run_id = t.run_id WHERE t.sweep_id = @sweep ORDER BY t.idx, m.epoch`,
      )
      .all({ sweep: sweepId }) as Array<{
      idx: number;
      epoch: number;
      val_accuracy: number | null;
      val_loss: number | null;
      train_loss: number | null;
    }>;
    const curves = new Map<number, Array<TrialRecord['curve'][number] & { n: number }>>();
    for (const p of points) {
      let c = curves.get(p.idx);
      if (!c) {
        c = [];
        curves.set(p.idx, c);
      }
      const last = c[c.length - 1];
      if (last && last.epoch === p.epoch) {
        last.valAccuracy += num(p.val_accuracy);
        last.valLoss += num(p.val_loss);
        last.trainLoss += num(p.train_loss);
        last.n++;
      } else
        c.push({
          epoch: p.epoch,
          valAccuracy: num(p.val_accuracy),
          valLoss: num(p.val_loss),
          trainLoss: num(p.train_loss),
          n: 1,
        });
    }
    return rows.map((r) => {
      const curve = (curves.get(r.idx) ?? []).map(({ n, ...p }) =>
        n === 1
          ? p
          : { epoch: p.epoch, valAccuracy: p.valAccuracy / n, valLoss: p.valLoss / n, trainLoss: p.trainLoss / n },
      );
      const t: TrialRecord = {
        index: r.idx,
        params: parse(r.params),
        status: r.status,
        value: r.value,
        valAccuracy: r.val_accuracy,
        epochs: r.epochs,
        curve,
      };
      const s = seeds.get(r.idx);
      if (s) {
        t.seeds = s;
        t.spread = spread(s.map((x) => x.value));
        t.valAccuracySpread = spread(s.map((x) => x.valAccuracy));
      }
      return t;
    });
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
