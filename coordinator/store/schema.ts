// The experiment store's SQLite schema: its version, the migrations that build it, the upgrade a
// writer runs when it opens a store (one transaction) and the check a reader makes.
import type Database from 'better-sqlite3';

export const SCHEMA_VERSION = 3;

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
  // 1 → 2: each run's and sweep's output folder (NULL for those recorded before)
  `ALTER TABLE runs ADD COLUMN out_dir TEXT;
   ALTER TABLE sweeps ADD COLUMN out_dir TEXT;`,
  // 2 → 3: a sweep's seed runs (issue 16: each configuration trained with K seeds; the trials
  // row holds the mean over them). A trial recorded before is one seed run: its own row.
  `CREATE TABLE seed_runs (
     sweep_id TEXT NOT NULL,
     idx INTEGER NOT NULL,
     seed_idx INTEGER NOT NULL CHECK (seed_idx >= 0),
     seed INTEGER NOT NULL,
     run_id TEXT REFERENCES runs(id),
     status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'stopped', 'failed')),
     value REAL,
     val_accuracy REAL,
     epochs INTEGER NOT NULL DEFAULT 0,
     started_at TEXT,
     finished_at TEXT,
     PRIMARY KEY (sweep_id, idx, seed_idx),
     FOREIGN KEY (sweep_id, idx) REFERENCES trials(sweep_id, idx) ON DELETE CASCADE
   );
   CREATE INDEX seed_runs_by_run ON seed_runs(run_id);
   INSERT INTO seed_runs (sweep_id, idx, seed_idx, seed, run_id, status, value, val_accuracy, epochs,
       started_at, finished_at)
     SELECT t.sweep_id, t.idx, 0,
       coalesce(json_extract(t.params, '$.seed'), json_extract(s.config, '$.base.seed'), 0),
       t.run_id, t.status, t.value, t.val_accuracy, t.epochs, t.started_at, t.finished_at
     FROM trials t JOIN sweeps s ON s.id = t.sweep_id;`,
];

/** A store opened read-only has a schema this gradwire knows: version 1 (before out folders
 *  were recorded) or 2 (before seed runs: each trial is its one seed run) are read as they are
 *  (a reader never migrates), up to SCHEMA_VERSION. Returns it. */
export function checkVersion(db: Database.Database, file: string): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  if (!table) throw new Error(`${file} is not a gradwire experiment store (no schema_version table)`);
  const version =
    (db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined)?.version ?? 0;
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `experiment store ${file} has schema version ${version}; this gradwire knows up to ${SCHEMA_VERSION}`,
    );
  }
  if (version < 1) {
    throw new Error(
      `experiment store ${file} has the older schema version ${version}; any gradwire command that writes to it (train, sweep) upgrades it`,
    );
  }
  return version;
}

export function migrate(db: Database.Database, file: string): void {
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
