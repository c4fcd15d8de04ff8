// Sweeps with `seeds: K` (issue 16), against independent references: each seed run k of a
// trial is the standalone `gradwire train --in-process` of the trial's config with seed + k on
// the split of the trial's seed (data.splitSeed), bit for bit; the trial's value is the mean of
// those runs and its interval is Student's t worked here by hand; seeds: 1 trials are the
// standalone runs of their configs and trials.csv keeps its columns; ASHA stops on means.
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

afterEach(killAll);
import { gradwire, tempDir, withFiles } from '../helpers/cli.js';
import { Store } from '../../coordinator/store/store.js';
import { killAll, listeningPort, startCoordinator, startWorker, summary } from '../helpers/cluster.js';

const RUN = (seed: number, extra = ''): string => `seed: ${seed}
data: { name: moons, samples: 240, noise: 0.25${extra} }
model: { hidden: [12], activation: tanh, dropout: 0.2 }
optimizer: { name: adam, lr: 0.02 }
batchSize: 16
microbatch: 8
epochs: 3
`;

function csv(out: string): Array<Record<string, string>> {
  const [head, ...lines] = readFileSync(join(out, 'trials.csv'), 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((c, i) => [cols[i]!, c])));
}

async function train(config: string): Promise<{ weightsSha256: string; valAccuracy: number; testAccuracy: number }> {
  const out = tempDir('gradwire-seed-ref-');
  const r = await gradwire(
    ['train', '--in-process', '--config', join(withFiles({ 'run.yaml': config }), 'run.yaml'), '--out', out],
    { timeoutMs: 120_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  return summary(out) as never;
}

async function sweep(yaml: string, files: Record<string, string> = {}): Promise<string> {
  const dir = withFiles({ 's.yaml': yaml, ...files });
  const out = tempDir();
  const r = await gradwire(
    ['sweep', '--config', join(dir, 's.yaml'), '--threads', '2', '--out', out, '--log-format', 'json'],
    {
      timeoutMs: 180_000,
    },
  );
  expect(r.status, r.stderr).toBe(0);
  return out;
}

describe('seeds: 3', () => {
  let out!: string;
  beforeAll(async () => {
    out = await sweep(
      `base: run.yaml
method: grid
seeds: 3
parameters:
  optimizer.lr: { values: [0.02] }
`,
      { 'run.yaml': RUN(7) },
    );
  }, 200_000);

  it("seed run k is the standalone run with seed 7 + k on seed 7's split and dataset; the value is their mean, the interval Student's t", async () => {
    const refs = [];
    for (const k of [0, 1, 2]) refs.push(await train(RUN(7 + k, ', splitSeed: 7')));
    // the seeds differ (init, order, dropout): three different models
    expect(new Set(refs.map((r) => r.weightsSha256)).size).toBe(3);
    for (const k of [0, 1, 2]) {
      const dir = join(out, 'trials', k === 0 ? '0' : `0-s${k}`);
      expect(summary(dir).weightsSha256).toBe(refs[k]!.weightsSha256);
    }
    // seed run 0 is the trial's run as without seeds: no splitSeed needed
    expect((await train(RUN(7))).weightsSha256).toBe(refs[0]!.weightsSha256);

    const v = refs.map((r) => r.valAccuracy);
    const mean = (v[0]! + v[1]! + v[2]!) / 3;
    const sd = Math.sqrt(((v[0]! - mean) ** 2 + (v[1]! - mean) ** 2 + (v[2]! - mean) ** 2) / 2);
    const half = (4.303 * sd) / Math.sqrt(3); // t(0.975, 2 degrees of freedom) = 4.303
    const [row] = csv(out);
    expect(row).toMatchObject({ id: '0', status: 'finished', epochs: '3', seeds: '3' });
    expect(Number(row!.value)).toBeCloseTo(mean, 12);
    expect(Number(row!.valAccuracy)).toBeCloseTo(mean, 12);
    expect(Number(row!.valueSd)).toBeCloseTo(sd, 12);
    expect(Number(row!.valueLo)).toBeCloseTo(mean - half, 12);
    expect(Number(row!.valueHi)).toBeCloseTo(mean + half, 12);
    for (const k of [0, 1, 2]) expect(Number(row![`valueSeed${k}`])).toBe(v[k]);

    // the best configuration is tested with every seed run's weights: their mean and interval
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(s.seeds).toBe(3);
    expect(s.best.seeds.map((x: { seed: number }) => x.seed)).toEqual([7, 8, 9]);
    expect(s.best.seeds.map((x: { testAccuracy: number }) => x.testAccuracy)).toEqual(refs.map((r) => r.testAccuracy));
    const t = refs.map((r) => r.testAccuracy);
    expect(s.best.testAccuracy).toBeCloseTo((t[0]! + t[1]! + t[2]!) / 3, 12);
    expect(s.best.testAccuracySpread.n).toBe(3);
    expect(s.best.spread.mean).toBeCloseTo(mean, 12);
    expect(s.best.spread.lo).toBeCloseTo(mean - half, 12);
  }, 200_000);
});

describe('the documentation of seeds', () => {
  it('gradwire sweep --help names seeds: K and what it does', async () => {
    const r = await gradwire(['sweep', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/seeds: K \(default 1\)/);
    expect(r.stdout).toMatch(/same data split/);
  });
});

describe('a bad seeds value', () => {
  it('is refused before anything starts: exit 2, one line naming the key, the value and what is allowed', async () => {
    const dir = withFiles({ 's.yaml': 'seeds: 0\nparameters:\n  model.dropout: { values: [0, 0.2] }\n' });
    const out = join(tempDir(), 'never');
    const r = await gradwire(['sweep', '--config', join(dir, 's.yaml'), '--threads', '1', '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('gradwire: error: seeds: 0 must be a whole number >= 1\n');
    expect(existsSync(out)).toBe(false);
  });
});

describe('seeds: 1', () => {
  it('trials are the standalone runs of their configs and trials.csv keeps its columns', async () => {
    const out = await sweep(
      `base: run.yaml
method: grid
parameters:
  optimizer.lr: { values: [0.02, 0.005] }
`,
      { 'run.yaml': RUN(7) },
    );
    expect(readFileSync(join(out, 'trials.csv'), 'utf8').split('\n')[0]).toBe(
      'id,optimizer.lr,valAccuracy,value,epochs,status',
    );
    const rows = csv(out);
    for (const [i, lr] of [0.02, 0.005].entries()) {
      const ref = await train(RUN(7).replace('lr: 0.02', `lr: ${lr}`));
      expect(summary(join(out, 'trials', String(i))).weightsSha256).toBe(ref.weightsSha256);
      expect(Number(rows[i]!.value)).toBe(ref.valAccuracy);
    }
  }, 200_000);
});

describe('ASHA with seeds: 2', () => {
  it('stops on the mean of the seed runs at the rung, and a stopped trial is worth that mean', async () => {
    const out = await sweep(`run:
  seed: 4
  data: { name: iris }
  model: { hidden: [16], activation: tanh }
  optimizer: { name: adam }
  batchSize: 16
  microbatch: 8
  epochs: 9
method: random
trials: 6
seeds: 2
parameters:
  optimizer.lr: { distribution: log_uniform, min: 0.00001, max: 1 }
earlyStopping: { type: asha, minEpochs: 1, reductionFactor: 3 }
`);
    const epochs = (dir: string): Array<Record<string, string>> => {
      const [head, ...lines] = readFileSync(join(dir, 'epochs.csv'), 'utf8').trim().split('\n');
      const cols = head!.split(',');
      return lines.map((l) => Object.fromEntries(l.split(',').map((c, i) => [cols[i]!, c])));
    };
    const rows = csv(out);
    expect(rows).toHaveLength(6);
    const stopped = rows.filter((r) => r.status === 'stopped');
    expect(stopped.length).toBeGreaterThan(0);
    for (const r of rows) {
      const e = Number(r.epochs);
      if (r.status === 'stopped') expect([1, 3]).toContain(e);
      else expect(r.status).toBe('finished');
      if (r.status === 'finished') expect(e).toBe(9);
      // each seed run's validation accuracy at the trial's epochs (the rung where it stopped)
      const at = [r.id!, `${r.id}-s1`].map((d) => {
        const row = epochs(join(out, 'trials', d)).find((x) => Number(x.epoch) === e);
        return Number(row!.valAccuracy);
      });
      expect(Number(r.value)).toBeCloseTo((at[0]! + at[1]!) / 2, 12);
      expect([Number(r.valueSeed0), Number(r.valueSeed1)]).toEqual(at);
    }
  }, 200_000);
});

describe('seed runs fill the seats', () => {
  const YAML = `run:
  seed: 4
  data: { name: iris }
  model: { hidden: [16], activation: tanh }
  optimizer: { name: adam }
  batchSize: 16
  microbatch: 8
  epochs: 12
method: grid
seeds: 3
parameters:
  optimizer.lr: { values: [0.01] }
`;
  /** [start, end] of each seed run of trial 0, by seed index, from the store */
  const spans = (out: string): Array<[number, number]> => {
    const store = Store.open(join(out, 'gradwire.db'), { readonly: true });
    try {
      const runs = new Map(store.runs().map((r) => [r.id, r]));
      const sweepId = store.sweeps()[0]!.id;
      return store.seedRuns(sweepId, 0).map((x) => {
        const r = runs.get(x.runId!)!;
        return [Date.parse(r.createdAt), Date.parse(r.finishedAt!)];
      });
    } finally {
      store.close();
    }
  };
  const check = (s: Array<[number, number]>): void => {
    expect(s).toHaveLength(3);
    // seed runs 0 and 1 side by side, seed run 2 on the first seat freed: never more than 2
    expect(s[1]![0]).toBeLessThan(s[0]![1]);
    expect(s[2]![0]).toBeGreaterThanOrEqual(Math.min(s[0]![1], s[1]![1]));
  };

  it('seeds: 3 of one trial on 2 threads of this process keep both busy', async () => {
    check(spans(await sweep(YAML)));
  }, 120_000);

  it('seeds: 3 of one trial on a 2-thread worker keep both threads busy, with the same trials table', async () => {
    const threads = await sweep(YAML);
    const out = tempDir();
    const c = startCoordinator([
      '--sweep',
      join(withFiles({ 's.yaml': YAML }), 's.yaml'),
      '--listen',
      '127.0.0.1:0',
      '--out',
      out,
      '--min-workers',
      '1',
    ]);
    const port = await listeningPort(c);
    startWorker(port, 'w', ['--threads', '2', '--stay']);
    expect(await c.exited).toBe(0);
    check(spans(out));
    expect(readFileSync(join(out, 'trials.csv'), 'utf8')).toBe(readFileSync(join(threads, 'trials.csv'), 'utf8'));
  }, 180_000);
});

describe('the dashboard sees the seeds', () => {
  it("/api/state's trials carry spread, valAccuracySpread and each seed run's status", async () => {
    const yaml = `run:
  seed: 4
  data: { name: iris }
  model: { hidden: [16], activation: tanh }
  optimizer: { name: adam }
  batchSize: 16
  microbatch: 8
  epochs: 25
method: grid
seeds: 2
concurrency: 1
parameters:
  optimizer.lr: { values: [0.01, 0.02, 0.03] }
`;
    const c = startCoordinator([
      '--sweep',
      join(withFiles({ 's.yaml': yaml }), 's.yaml'),
      '--listen',
      '127.0.0.1:0',
      '--out',
      tempDir(),
      '--min-workers',
      '1',
    ]);
    const port = await listeningPort(c);
    startWorker(port, 'w', ['--threads', '1', '--stay']);
    type Trial = {
      index: number;
      status: string;
      value: number | null;
      spread?: { n: number; mean: number; lo: number; hi: number } | null;
      valAccuracySpread?: { n: number; mean: number } | null;
      seeds?: Array<{ seedIndex: number; seed: number; status: string; value: number | null }>;
    };
    let finished: Trial | undefined;
    let partial: Trial | undefined;
    const exited = c.exited.then(() => true);
    while (!finished && !(await Promise.race([exited, new Promise((r) => setTimeout(() => r(false), 150))]))) {
      const state = (await (await fetch(`http://127.0.0.1:${port}/api/state`)).json()) as { trials: Trial[] };
      finished = state.trials.find((t) => t.status === 'finished');
      partial ??= state.trials.find((t) => t.status === 'running' && t.seeds?.some((x) => x.status === 'finished'));
    }
    expect(finished, 'a finished trial seen on /api/state').toBeDefined();
    expect(finished!.seeds!.map((x) => [x.seedIndex, x.seed, x.status])).toEqual([
      [0, 4, 'finished'],
      [1, 5, 'finished'],
    ]);
    expect(finished!.spread!.n).toBe(2);
    expect(finished!.spread!.mean).toBe(finished!.value);
    expect(finished!.valAccuracySpread!.n).toBe(2);
    // a trial whose seed run 0 had ended while seed run 1 trained: running, one seed counted
    expect(partial, 'a trial seen with one seed run done').toBeDefined();
    expect(partial!.spread!.n).toBe(1);
    expect(partial!.value).toBeNull();
    expect(await c.exited).toBe(0);
  }, 180_000);
});

describe('a seed run resumed from its checkpoint', () => {
  it('reports the epochs before the checkpoint from its epochs.csv: the same trials and curves', async () => {
    const yaml = `base: run.yaml
method: grid
seeds: 2
parameters:
  optimizer.lr: { values: [0.02, 0.005] }
`;
    const RUN4 = RUN(7).replace('epochs: 3', 'epochs: 4');
    const dir = withFiles({ 's.yaml': yaml, 'run.yaml': RUN4 });
    const out = tempDir();
    const args = ['sweep', '--config', join(dir, 's.yaml'), '--threads', '2', '--out', out];
    expect((await gradwire(args, { timeoutMs: 180_000 })).status).toBe(0);
    const straight = readFileSync(join(out, 'trials.csv'), 'utf8');
    const curvesOf = (): unknown => {
      const store = Store.open(join(out, 'gradwire.db'), { readonly: true });
      try {
        return store.trials(store.sweeps()[0]!.id).map((t) => t.curve);
      } finally {
        store.close();
      }
    };
    const curves = curvesOf();
    // as a coordinator killed while seed run 1 of trial 1 trained epoch 3: the run still
    // 'running' with 2 epochs recorded, its folder holding the checkpoint of epoch 2
    const ref = tempDir();
    const half = RUN(8, ', splitSeed: 7').replace('lr: 0.02', 'lr: 0.005').replace('epochs: 3', 'epochs: 2');
    expect(
      (
        await gradwire([
          'train',
          '--in-process',
          '--config',
          join(withFiles({ 'r.yaml': half }), 'r.yaml'),
          '--out',
          ref,
        ])
      ).status,
    ).toBe(0);
    const seedDir = join(out, 'trials', '1-s1');
    for (const f of ['checkpoint.gwc', 'epochs.csv', 'steps.csv']) copyFileSync(join(ref, f), join(seedDir, f));
    const db = new Database(join(out, 'gradwire.db'));
    const runId = db.prepare('SELECT run_id FROM seed_runs WHERE idx = 1 AND seed_idx = 1').pluck().get() as string;
    db.exec(`UPDATE seed_runs SET status = 'running', value = NULL, val_accuracy = NULL, epochs = 0
        WHERE idx = 1 AND seed_idx = 1;
      UPDATE trials SET status = 'running', value = NULL, val_accuracy = NULL, epochs = 0 WHERE idx = 1;
      UPDATE sweeps SET status = 'running', summary = NULL;
      DELETE FROM metrics WHERE run_id = '${runId}' AND epoch > 2;`);
    db.prepare("UPDATE runs SET status = 'running', summary = NULL WHERE id = ?").run(runId);
    db.close();
    rmSync(join(out, 'trials.csv'));
    expect((await gradwire([...args, '--resume'], { timeoutMs: 180_000 })).status).toBe(0);
    expect(readFileSync(join(out, 'trials.csv'), 'utf8')).toBe(straight);
    expect(curvesOf()).toEqual(curves);
    const again = summary(seedDir) as unknown as { resumedFromStep: number };
    expect(again.resumedFromStep).toBeGreaterThan(0);
  }, 240_000);
});

describe('a seed run that fails', () => {
  it("fails its trial; the trial's other seed runs do not start (or stop at their next epoch), the others go on", async () => {
    const out = await sweep(`run:
  seed: 4
  data: { name: iris }
  model: { hidden: [16], activation: relu }
  optimizer: { name: sgd, lr: 0.01 }
  batchSize: 16
  microbatch: 8
  epochs: 6
method: grid
seeds: 3
parameters:
  optimizer.lr: { values: [1e30, 0.01] }
`);
    const rows = csv(out);
    expect(rows.map((r) => [r.id, r.status, r.seeds])).toEqual([
      ['0', 'failed', '0'],
      ['1', 'finished', '3'],
    ]);
    const store = Store.open(join(out, 'gradwire.db'), { readonly: true });
    try {
      const [t0] = store.trials(store.sweeps()[0]!.id);
      // every seed run ended: the ones that ran failed (non-finite loss at step 1), any not
      // started is stopped with 0 epochs
      expect(t0!.seeds!.every((x) => x.status === 'failed' || (x.status === 'stopped' && x.epochs <= 1))).toBe(true);
      expect(t0!.seeds!.some((x) => x.status === 'failed')).toBe(true);
    } finally {
      store.close();
    }
  }, 120_000);
});
