// Sweeps on a real pool (coordinator and worker processes on loopback) with a real SQLite
// store: the outputs, and surviving kill -9 of the coordinator.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../coordinator/store/store.js';
import { type CliResult, gradwire, tempDir, withFiles } from '../helpers/cli.js';
import { freePort, killAll, listeningPort, startCoordinator, startWorker, type Proc } from '../helpers/cluster.js';
import { irisSweep } from '../helpers/fixtures.js';

const SWEEP = (method: string, trials: number, extra = ''): string => irisSweep({ method, trials, epochs: 30, extra });

afterEach(killAll);

function trialsCsv(out: string): string[] {
  return readFileSync(join(out, 'trials.csv'), 'utf8').trim().split('\n');
}

async function sweepOnPool(
  file: string,
  out: string,
  opts: { killAfterTrials?: number; port?: number; resume?: boolean } = {},
): Promise<Proc> {
  const port = opts.port ?? (await freePort());
  const c = startCoordinator([
    '--sweep',
    file,
    '--listen',
    `127.0.0.1:${port}`,
    '--out',
    out,
    '--min-workers',
    '2',
    ...(opts.resume ? ['--resume'] : []),
  ]);
  await listeningPort(c);
  return c;
}

describe('gradwire sweep (local pool)', () => {
  const dir = withFiles({ 'sweep.yaml': SWEEP('random', 6) });
  const out = tempDir();
  let r!: CliResult;
  beforeAll(async () => {
    r = await gradwire(
      ['sweep', '--config', join(dir, 'sweep.yaml'), '--workers', '2', '--out', out, '--log-format', 'json'],
      { timeoutMs: 180_000 },
    );
  }, 200_000);

  it('finishes and writes trials.csv, summary.json and report.html', () => {
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rows = trialsCsv(out);
    expect(rows[0]).toBe('id,optimizer.lr,model.dropout,model.init,valAccuracy,value,epochs,status');
    expect(rows).toHaveLength(7);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(s.trials).toBe(6);
    expect(s.finished).toBe(6);
    expect(s.best.params).toHaveProperty('optimizer.lr');
    expect(s.best.valAccuracy).toBe(Math.max(...rows.slice(1).map((l) => Number(l.split(',')[4]))));
    expect(s.best.testAccuracy).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/<section id="?best-so-far/);
    expect(existsSync(join(out, 'gradwire.db'))).toBe(true);
  });

  it('selects on validation accuracy only: no trial evaluated the test split', () => {
    for (let i = 0; i < 6; i++) {
      const t = JSON.parse(readFileSync(join(out, 'trials', String(i), 'summary.json'), 'utf8'));
      expect(t.testAccuracy).toBeNull();
    }
  });
});

describe('trials on the pool', () => {
  it('a trial on 2 workers (workersPerTrial: 2) gives the same results as on 1: exactness holds per trial', async () => {
    const dir = withFiles({
      'one.yaml': SWEEP('random', 3),
      'two.yaml': `${SWEEP('random', 3)}workersPerTrial: 2\n`,
    });
    const a = tempDir(),
      b = tempDir();
    expect(
      (
        await gradwire(
          ['sweep', '--config', join(dir, 'one.yaml'), '--workers', '2', '--out', a, '--log-format', 'json'],
          {
            timeoutMs: 180_000,
          },
        )
      ).status,
    ).toBe(0);
    expect(
      (
        await gradwire(
          ['sweep', '--config', join(dir, 'two.yaml'), '--workers', '2', '--out', b, '--log-format', 'json'],
          {
            timeoutMs: 180_000,
          },
        )
      ).status,
    ).toBe(0);
    expect(trialsCsv(b)).toEqual(trialsCsv(a));
  }, 200_000);

  it('ASHA stops unpromising trials at its rungs (epochs 1 and 3 of 9)', async () => {
    const space = SWEEP('random', 6, 'earlyStopping: { type: asha, minEpochs: 1, reductionFactor: 3 }\n')
      .replace('epochs: 30', 'epochs: 9')
      .replace('min: 0.001, max: 0.3', 'min: 0.00001, max: 1');
    const out = tempDir();
    const r = await gradwire(
      [
        'sweep',
        '--config',
        join(withFiles({ 's.yaml': space }), 's.yaml'),
        '--workers',
        '2',
        '--out',
        out,
        '--log-format',
        'json',
      ],
      { timeoutMs: 180_000 },
    );
    expect(r.status).toBe(0);
    const rows = trialsCsv(out)
      .slice(1)
      .map((l) => l.split(','));
    const stopped = rows.filter((c) => c[c.length - 1] === 'stopped');
    expect(stopped.length).toBeGreaterThan(0);
    for (const c of stopped) expect(['1', '3']).toContain(c[c.length - 2]);
    for (const c of rows.filter((x) => x[x.length - 1] === 'finished')) expect(c[c.length - 2]).toBe('9');
  }, 200_000);
});

describe('a sweep whose coordinator is killed with SIGKILL', () => {
  it('random: resumed with --resume, it ends with the same trials table as one never interrupted', async () => {
    const file = join(withFiles({ 'sweep.yaml': SWEEP('random', 8) }), 'sweep.yaml');
    const straight = tempDir();
    const port1 = await freePort();
    const c1 = await sweepOnPool(file, straight, { port: port1 });
    startWorker(port1, 'a');
    startWorker(port1, 'b');
    expect(await c1.exited).toBe(0);

    const out = tempDir();
    const port = await freePort();
    const first = await sweepOnPool(file, out, { port });
    startWorker(port, 'c', ['--stay']);
    startWorker(port, 'd', ['--stay']);
    await first.waitFor((e) => e.event === 'trial' && (e.index as number) >= 2, 'trial 2 done');
    first.kill('SIGKILL');
    await first.exited;
    const second = await sweepOnPool(file, out, { port, resume: true });
    const resumed = await second.waitForEvent('sweep-resume');
    expect(resumed.requeued).toBeGreaterThanOrEqual(1); // a trial was running when the coordinator died
    expect(await second.exited).toBe(0);
    expect(trialsCsv(out)).toEqual(trialsCsv(straight));
  }, 180_000);

  it('seeds: 2: resumed with --resume, it ends with the same trials (values, intervals, seed values) as one never interrupted', async () => {
    const file = join(withFiles({ 'sweep.yaml': `${SWEEP('random', 5)}seeds: 2\n` }), 'sweep.yaml');
    const straight = tempDir();
    const port1 = await freePort();
    const c1 = await sweepOnPool(file, straight, { port: port1 });
    startWorker(port1, 'a');
    startWorker(port1, 'b');
    expect(await c1.exited).toBe(0);
    expect(trialsCsv(straight)[0]).toBe(
      'id,optimizer.lr,model.dropout,model.init,valAccuracy,value,epochs,status,seeds,valueSd,valueLo,valueHi,valAccuracySd,valAccuracyLo,valAccuracyHi,valueSeed0,valueSeed1',
    );

    const out = tempDir();
    const port = await freePort();
    const first = await sweepOnPool(file, out, { port });
    startWorker(port, 'c', ['--stay']);
    startWorker(port, 'd', ['--stay']);
    // killed after a seed run of trial 1 ended: trial 1 or 2 has seed runs under way
    await first.waitFor((e) => e.event === 'seed-run' && (e.index as number) >= 1, 'a seed run of trial 1 done');
    first.kill('SIGKILL');
    await first.exited;
    const second = await sweepOnPool(file, out, { port, resume: true });
    const resumed = await second.waitForEvent('sweep-resume');
    expect(resumed.requeued).toBeGreaterThanOrEqual(1);
    expect(await second.exited).toBe(0);
    expect(trialsCsv(out)).toEqual(trialsCsv(straight));
    // every seed run that ended holds all 30 epochs in the store, also one that resumed from
    // its checkpoint (the epochs before it are read back from its epochs.csv), and the curves
    // (means over the seed runs) are those of the sweep never interrupted
    const curves = (dir: string) => {
      const store = Store.open(join(dir, 'gradwire.db'), { readonly: true });
      try {
        const trials = store.trials(store.sweeps()[0]!.id);
        for (const t of trials)
          for (const x of t.seeds!) expect(store.epochs(x.runId!).map((e) => e.epoch)).toHaveLength(30);
        return trials.map((t) => t.curve);
      } finally {
        store.close();
      }
    };
    expect(curves(out)).toEqual(curves(straight));
  }, 240_000);

  it('tpe: resumed, it ends with the configured number of distinct trials', async () => {
    const file = join(withFiles({ 'sweep.yaml': SWEEP('tpe', 10, 'tpe: { startupTrials: 3 }') }), 'sweep.yaml');
    const out = tempDir();
    const port = await freePort();
    const first = await sweepOnPool(file, out, { port });
    startWorker(port, 'c', ['--stay']);
    startWorker(port, 'd', ['--stay']);
    await first.waitFor((e) => e.event === 'trial' && (e.index as number) >= 4, 'trial 4 done');
    first.kill('SIGKILL');
    await first.exited;
    const second = await sweepOnPool(file, out, { port, resume: true });
    expect(await second.exited).toBe(0);
    const rows = trialsCsv(out).slice(1);
    expect(rows).toHaveLength(10);
    const params = rows.map((l) => l.split(',').slice(1, 4).join(','));
    expect(new Set(params).size).toBe(10);
    expect(rows.every((l) => l.endsWith(',finished'))).toBe(true);
  }, 180_000);

  it('--resume of a sweep whose config changed says what changed', async () => {
    const dir = withFiles({ 'sweep.yaml': SWEEP('random', 2), 'changed.yaml': SWEEP('random', 3) });
    const out = tempDir();
    const ok = await gradwire(
      ['sweep', '--config', join(dir, 'sweep.yaml'), '--workers', '1', '--out', out, '--log-format', 'json'],
      {
        timeoutMs: 120_000,
      },
    );
    expect(ok.status).toBe(0);
    const r = await gradwire([
      'sweep',
      '--config',
      join(dir, 'changed.yaml'),
      '--workers',
      '1',
      '--out',
      out,
      '--resume',
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/the sweep config changed.*trials/);
  }, 180_000);
});
