// The experiment store on a real SQLite file: round-trips, durability across connections and a
// SIGKILLed writer, trial bookkeeping, and WAL readers alongside the writer.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, Store, type StoredEpochRow } from '../../coordinator/store/store.js';
import { ROOT, tempDir } from '../helpers/cli.js';

const STORE_URL = pathToFileURL(join(ROOT, 'coordinator/store/store.ts')).href;

const open: Store[] = [];
function openStore(path: string): Store {
  const s = Store.open(path);
  open.push(s);
  return s;
}
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

const epoch = (e: number, acc = 0.5 + e / 100): StoredEpochRow => ({
  epoch: e,
  step: e * 10,
  trainLoss: 1 / e,
  trainAccuracy: acc - 0.01,
  valLoss: 2 / e,
  valAccuracy: acc,
  lr: 0.01,
  samplesPerSecond: 1000 + e,
});

/** runs `body` in a child process with `store` bound to Store.open(path); returns the child */
function childScript(path: string, body: string): string {
  return `import(${JSON.stringify(STORE_URL)}).then(({ Store }) => {
    const store = Store.open(${JSON.stringify(path)});
    ${body}
  }).catch((e) => { console.error(e); process.exit(3); });`;
}

describe('Store', () => {
  it('creates a schema at version 3 in WAL mode, once', () => {
    const path = join(tempDir(), 'x.db');
    openStore(path);
    const db = new Database(path, { readonly: true });
    try {
      expect(SCHEMA_VERSION).toBe(3);
      expect(db.prepare('SELECT version FROM schema_version').all()).toEqual([{ version: 3 }]);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
      expect(tables).toEqual(['metrics', 'runs', 'schema_version', 'seed_runs', 'sweeps', 'trials']);
    } finally {
      db.close();
    }
    // reopening does not migrate again
    openStore(path).close();
    const again = new Database(path, { readonly: true });
    expect(again.prepare('SELECT count(*) FROM schema_version').pluck().get()).toBe(1);
    again.close();
  });

  it("records each run's and sweep's output folder; a trial's is its sweep's trials/<index>", () => {
    const store = openStore(join(tempDir(), 'x.db'));
    store.expectRun('r1', '/data/runs/r1');
    store.createRun('r1', 'run', {});
    store.createRun('r2', 'run', {}, null, '/elsewhere/r2');
    store.createRun('r3', 'run', {});
    store.createSweep('s1', {}, 'h', '/data/sweeps/s1');
    store.addTrial('s1', 4, {});
    store.createRun('s1-t4', 'trial', {}, 's1');
    store.startTrial('s1', 4, 's1-t4');
    expect(store.runs().map((r) => [r.id, r.outDir])).toEqual([
      ['r1', '/data/runs/r1'],
      ['r2', '/elsewhere/r2'],
      ['r3', null],
      ['s1-t4', '/data/sweeps/s1/trials/4'],
    ]);
    expect(store.run('r1')!.outDir).toBe('/data/runs/r1');
    expect(store.sweep('s1')!.outDir).toBe('/data/sweeps/s1');
    store.close();
  });

  it('a schema 1 store (no folders) is read as it is, and upgraded by a writer', () => {
    const path = join(tempDir(), 'old.db');
    const s = openStore(path);
    s.createRun('r1', 'run', {});
    s.close();
    // turn it back into what gradwire wrote before folders were recorded
    const db = new Database(path);
    db.exec(
      'DROP TABLE seed_runs; ALTER TABLE runs DROP COLUMN out_dir; ALTER TABLE sweeps DROP COLUMN out_dir; UPDATE schema_version SET version = 1',
    );
    db.close();
    const reader = Store.open(path, { readonly: true });
    expect(reader.runs().map((r) => [r.id, r.outDir])).toEqual([['r1', null]]);
    reader.close();
    const writer = openStore(path);
    writer.createRun('r2', 'run', {}, null, '/x/r2');
    expect(writer.runs().map((r) => [r.id, r.outDir])).toEqual([
      ['r1', null],
      ['r2', '/x/r2'],
    ]);
    writer.close();
    const check = new Database(path, { readonly: true });
    expect(check.prepare('SELECT version FROM schema_version').pluck().get()).toBe(3);
    check.close();
  });

  it('a schema 2 store (no seed runs) is read as it is, and a writer makes each trial its seed run 0', () => {
    const path = join(tempDir(), 'old2.db');
    const s = openStore(path);
    s.createSweep('s', { base: { seed: 7 } }, 'h');
    s.addTrial('s', 0, { 'optimizer.lr': 0.1 });
    s.addTrial('s', 1, { seed: 3 });
    s.createRun('s-t0', 'trial', {}, 's');
    s.startTrial('s', 0, 's-t0');
    s.addEpoch('s-t0', epoch(1, 0.6));
    s.finishTrial('s', 0, 'finished', 0.6, 0.6, 1);
    s.close();
    const db = new Database(path);
    db.exec('DROP TABLE seed_runs; UPDATE schema_version SET version = 2');
    db.close();
    const reader = Store.open(path, { readonly: true });
    const [t0] = reader.trials('s');
    expect(t0).toMatchObject({ status: 'finished', value: 0.6, curve: [{ epoch: 1, valAccuracy: 0.6 }] });
    expect(t0!.seeds).toBeUndefined();
    reader.close();
    const writer = openStore(path);
    const [w0, w1] = writer.trials('s');
    expect(w0!.seeds).toEqual([
      { seedIndex: 0, seed: 7, runId: 's-t0', status: 'finished', value: 0.6, valAccuracy: 0.6, epochs: 1 },
    ]);
    expect(w0!.spread).toEqual({ n: 1, mean: 0.6, sd: 0, lo: 0.6, hi: 0.6 });
    expect(w0!.curve).toEqual(t0!.curve);
    expect(w1!.seeds?.[0]).toMatchObject({ seedIndex: 0, seed: 3, status: 'queued', runId: null });
    writer.close();
  });

  it('seed runs: the curve is the mean over the seed runs, requeue keeps the ones that ended', () => {
    const store = openStore(join(tempDir(), 'x.db'));
    store.createSweep('s', {}, 'h');
    store.addTrial('s', 0, { a: 1 }, [5, 6, 7]);
    for (const k of [0, 1, 2]) {
      store.createRun(`r${k}`, 'trial', {}, 's');
      store.startSeedRun('s', 0, k, `r${k}`);
    }
    expect(store.trial('s', 0)).toMatchObject({ status: 'running', runId: 'r0' });
    store.addEpoch('r0', epoch(1, 0.5));
    store.addEpoch('r1', epoch(1, 0.7));
    store.addEpoch('r2', epoch(1, 0.9));
    store.finishSeedRun('s', 0, 0, 'finished', 0.5, 0.5, 1);
    store.finishSeedRun('s', 0, 1, 'finished', 0.7, 0.7, 1);
    expect(() => store.finishSeedRun('s', 0, 1, 'finished', 0.7, 0.7, 1)).toThrow(
      'seed run 1 of trial 0 of sweep s is finished, not queued or running',
    );
    const [t] = store.trials('s');
    expect(t!.curve).toEqual([{ epoch: 1, valAccuracy: (0.5 + 0.7 + 0.9) / 3, valLoss: 2, trainLoss: 1 }]);
    expect(t!.spread?.n).toBe(2);
    expect(store.requeueRunning('s')).toBe(1);
    expect(store.run('r2')?.status).toBe('failed');
    expect(store.trial('s', 0)).toMatchObject({ status: 'queued', runId: 'r0' });
    expect(store.seedRuns('s', 0).map((x) => [x.status, x.runId])).toEqual([
      ['finished', 'r0'],
      ['finished', 'r1'],
      ['queued', null],
    ]);
    expect(store.trials('s')[0]!.curve[0]!.valAccuracy).toBeCloseTo(0.6, 12);
  });

  it('round-trips runs and their epochs', () => {
    const store = openStore(join(tempDir(), 'x.db'));
    store.createRun('r1', 'run', { seed: 5, model: { hidden: [16] } });
    expect(store.run('r1')).toMatchObject({
      id: 'r1',
      kind: 'run',
      sweepId: null,
      status: 'running',
      config: { seed: 5, model: { hidden: [16] } },
      finishedAt: null,
      summary: null,
    });
    store.addEpoch('r1', epoch(1));
    store.addEpoch('r1', epoch(2));
    store.addEpoch('r1', { ...epoch(2), valAccuracy: 0.9, trainLoss: NaN }); // upsert; NaN → NaN
    expect(store.epochs('r1')).toEqual([epoch(1), { ...epoch(2), valAccuracy: 0.9, trainLoss: NaN }]);
    const summary = { runId: 'r1', testAccuracy: 0.93, valAccuracy: 0.91 } as never;
    store.finishRun('r1', 'finished', summary);
    expect(store.run('r1')).toMatchObject({ status: 'finished', summary });
    expect(store.run('r1')!.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    store.createRun('r2', 'run', {});
    store.finishRun('r2', 'failed', null);
    expect(store.runs()).toEqual([
      expect.objectContaining({
        id: 'r1',
        kind: 'run',
        sweepId: null,
        status: 'finished',
        testAccuracy: 0.93,
        valAccuracy: 0.91,
      }),
      expect.objectContaining({ id: 'r2', status: 'failed', testAccuracy: null, valAccuracy: null }),
    ]);
    expect(store.run('nope')).toBeUndefined();
    expect(() => store.finishRun('r2', 'finished', null)).toThrow(/r2 is not running/);
    expect(() => store.addEpoch('ghost', epoch(1))).toThrow(/FOREIGN KEY/);
    expect(() => store.createRun('r1', 'run', {})).toThrow(/UNIQUE/);
  });

  it('round-trips sweeps and trials, with curves from the trial runs', () => {
    const store = openStore(join(tempDir(), 'x.db'));
    const config = {
      method: 'random',
      trials: 3,
      parameters: { 'optimizer.lr': { distribution: 'log_uniform', min: 1e-4, max: 1e-1 } },
    };
    store.createSweep('s1', config, 'abc123');
    expect(store.sweep('s1')).toMatchObject({
      id: 's1',
      config,
      configHash: 'abc123',
      status: 'running',
      summary: null,
    });
    expect(store.latestUnfinishedSweep()?.id).toBe('s1');
    for (let i = 0; i < 3; i++) store.addTrial('s1', i, { 'optimizer.lr': 10 ** -(i + 1) });
    expect(() => store.addTrial('s1', 1, {})).toThrow('sweep s1 already has a trial 1');

    store.createRun('s1-t0', 'trial', { lr: 0.1 }, 's1');
    store.startTrial('s1', 0, 's1-t0');
    store.addEpoch('s1-t0', epoch(2, 0.7));
    store.addEpoch('s1-t0', epoch(1, 0.6)); // stored out of order, read back in order
    store.finishTrial('s1', 0, 'finished', 0.7, 0.7, 2);
    store.createRun('s1-t1', 'trial', { lr: 0.01 }, 's1');
    store.startTrial('s1', 1, 's1-t1');
    store.addEpoch('s1-t1', epoch(1, 0.4));
    store.finishTrial('s1', 1, 'stopped', 0.4, 0.4, 1);
    expect(() => store.startTrial('s1', 0, 's1-t0')).toThrow('trial 0 of sweep s1 is finished, not queued');
    expect(() => store.finishTrial('s1', 7, 'failed', null, null, 0)).toThrow('sweep s1 has no trial 7');

    const trials = store.trials('s1');
    expect(trials).toEqual([
      {
        index: 0,
        params: { 'optimizer.lr': 0.1 },
        status: 'finished',
        value: 0.7,
        valAccuracy: 0.7,
        epochs: 2,
        curve: [
          { epoch: 1, valAccuracy: 0.6, valLoss: 2, trainLoss: 1 },
          { epoch: 2, valAccuracy: 0.7, valLoss: 1, trainLoss: 0.5 },
        ],
      },
      {
        index: 1,
        params: { 'optimizer.lr': 0.01 },
        status: 'stopped',
        value: 0.4,
        valAccuracy: 0.4,
        epochs: 1,
        curve: [{ epoch: 1, valAccuracy: 0.4, valLoss: 2, trainLoss: 1 }],
      },
      {
        index: 2,
        params: { 'optimizer.lr': 0.001 },
        status: 'queued',
        value: null,
        valAccuracy: null,
        epochs: 0,
        curve: [],
      },
    ]);
    expect(store.trial('s1', 0)).toMatchObject({ runId: 's1-t0', status: 'finished' });
    expect(store.runs().map((r) => [r.id, r.kind, r.sweepId])).toEqual([
      ['s1-t0', 'trial', 's1'],
      ['s1-t1', 'trial', 's1'],
    ]);

    store.createSweep('s2', {}, 'def');
    expect(store.latestUnfinishedSweep()?.id).toBe('s2');
    store.finishSweep('s2', { best: 0 });
    store.finishSweep('s1', { best: 0, value: 0.7 });
    expect(store.latestUnfinishedSweep()).toBeUndefined();
    expect(store.sweeps().map((s) => [s.id, s.status, s.summary])).toEqual([
      ['s1', 'finished', { best: 0, value: 0.7 }],
      ['s2', 'finished', { best: 0 }],
    ]);
    expect(store.trials('s2')).toEqual([]);
  });

  it('a finished trial is visible to a second connection opened afterwards', () => {
    const path = join(tempDir(), 'x.db');
    const writer = openStore(path);
    writer.createSweep('s', {}, 'h');
    writer.addTrial('s', 0, { a: 1 });
    writer.createRun('t0', 'trial', {}, 's');
    writer.startTrial('s', 0, 't0');
    writer.finishTrial('s', 0, 'finished', 0.8, 0.8, 3);
    const reader = openStore(path); // the writer is still open
    expect(reader.trials('s')[0]).toMatchObject({ status: 'finished', value: 0.8, epochs: 3 });
  });

  it('after a SIGKILLed coordinator, finished trials stay finished and running ones are requeued', () => {
    const path = join(tempDir(), 'x.db');
    const code = childScript(
      path,
      `
      store.createSweep('s', { trials: 3 }, 'h');
      for (const i of [0, 1, 2]) store.addTrial('s', i, { i });
      for (const i of [0, 1]) { store.createRun('t' + i, 'trial', {}, 's'); store.startTrial('s', i, 't' + i); }
      store.addEpoch('t0', { epoch: 1, step: 5, trainLoss: 1, trainAccuracy: 0.5, valLoss: 1, valAccuracy: 0.6, lr: 0.1, samplesPerSecond: 9 });
      store.finishTrial('s', 0, 'finished', 0.6, 0.6, 1);
      process.kill(process.pid, 'SIGKILL');`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.signal).toBe('SIGKILL');

    const store = openStore(path);
    expect(store.latestUnfinishedSweep()?.id).toBe('s');
    expect(store.trials('s').map((t) => t.status)).toEqual(['finished', 'running', 'queued']);
    expect(store.requeueRunning('s')).toBe(1);
    const trials = store.trials('s');
    expect(trials.map((t) => t.status)).toEqual(['finished', 'queued', 'queued']);
    expect(trials[0]).toMatchObject({
      value: 0.6,
      epochs: 1,
      curve: [{ epoch: 1, valAccuracy: 0.6, valLoss: 1, trainLoss: 1 }],
    });
    expect(store.trial('s', 1)).toMatchObject({ runId: null, startedAt: null });
    expect(store.run('t1')?.status).toBe('failed');
    expect(store.run('t0')?.status).toBe('running'); // finishing the run is the caller's business
    expect(store.requeueRunning('s')).toBe(0);
    store.createRun('t1b', 'trial', {}, 's');
    store.startTrial('s', 1, 't1b'); // a requeued trial starts again
    expect(store.trial('s', 1)?.status).toBe('running');
  });

  it('a reader alongside the writer (WAL) never gets SQLITE_BUSY', async () => {
    const path = join(tempDir(), 'x.db');
    openStore(path).createRun('r', 'run', {});
    // the writer: another process appending epochs as fast as it can, one durable transaction each
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        childScript(
          path,
          `
      for (let e = 1; e <= 400; e++) store.addEpoch('r', { epoch: e, step: e, trainLoss: 1, trainAccuracy: 0.5,
        valLoss: 1, valAccuracy: 0.5, lr: 0.1, samplesPerSecond: 1 });
      store.close();`,
        ),
      ],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    // the reader waits for nothing: any lock conflict would throw SQLITE_BUSY at once
    const reader = new Database(path, { readonly: true, timeout: 0 });
    const store = openStore(path);
    let reads = 0,
      seen = 0,
      done = false;
    void exited.then(() => {
      done = true;
    });
    try {
      while (!done) {
        const n = reader.prepare('SELECT count(*) FROM metrics').pluck().get() as number;
        expect(n).toBeGreaterThanOrEqual(seen);
        seen = n;
        expect(store.epochs('r').length).toBeGreaterThanOrEqual(n);
        reads++;
        await new Promise((res) => setImmediate(res));
      }
    } finally {
      reader.close();
    }
    expect(await exited, stderr).toBe(0);
    expect(reads).toBeGreaterThan(10);
    expect(store.epochs('r')).toHaveLength(400);
  });

  it('names the path when its folder does not exist or the file is not a database', () => {
    const dir = tempDir();
    const missing = join(dir, 'no-such-folder', 'x.db');
    expect(() => Store.open(missing)).toThrow(
      `cannot open experiment store ${missing}: folder ${join(dir, 'no-such-folder')} does not exist`,
    );
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a database, just some text that is long enough to have a header'.repeat(20));
    expect(() => Store.open(junk)).toThrow(`cannot open experiment store ${junk}: the file is not a SQLite database`);
    mkdirSync(join(dir, 'a-folder.db'));
    expect(() => Store.open(join(dir, 'a-folder.db'))).toThrow(join(dir, 'a-folder.db'));
  });
});
