// A worker's compute threads are trial seats (issue 14, item 4): a worker with N threads runs N
// trials side by side in one process over one copy of their dataset, a trial may take several
// threads of one worker or threads of several workers, and every trial ends with the results
// it has on a single thread (exactness holds per trial). Real coordinator and worker processes
// on loopback; the reference is the same sweep on one single-thread worker.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gradwire, tempDir, withFiles } from '../helpers/cli.js';
import { killAll, listeningPort, startCoordinator, startWorker, type LogEvent } from '../helpers/cluster.js';
import { irisSweep } from '../helpers/fixtures.js';

afterEach(killAll);

// 6 trials of a grid (deterministic: the same trials whatever the order they finish in), each
// long enough that trials overlap; no concurrency key: the pool's threads decide
const grid = (extra = ''): string =>
  irisSweep({ method: 'grid', trials: 6, epochs: 12, dropout: [0, 0.5] })
    .replace(/concurrency: 2\n/, '')
    .replace(/optimizer\.lr: \{[^}]*\}/, 'optimizer.lr: { values: [0.003, 0.01, 0.03] }') + extra;

/** trials.csv without the column that is timing (none are) — the whole table */
const table = (out: string): string => readFileSync(join(out, 'trials.csv'), 'utf8');

let reference = '';
beforeAll(async () => {
  const dir = withFiles({ 'sweep.yaml': grid() });
  const out = tempDir();
  const r = await gradwire(
    ['sweep', '--config', join(dir, 'sweep.yaml'), '--workers', '1', '--threads', '1', '--out', out],
    {
      timeoutMs: 240_000,
    },
  );
  expect(r.status, r.stderr).toBe(0);
  reference = table(out);
  expect(reference.trim().split('\n')).toHaveLength(7);
}, 240_000);

/** A sweep on a coordinator with the given workers (their --threads); returns the logs. */
async function sweepOn(
  config: string,
  threads: number[],
): Promise<{ out: string; coordinator: LogEvent[]; workers: LogEvent[][] }> {
  const file = join(withFiles({ 'sweep.yaml': config }), 'sweep.yaml');
  const out = tempDir();
  const c = startCoordinator([
    '--sweep',
    file,
    '--listen',
    '127.0.0.1:0',
    '--out',
    out,
    '--min-workers',
    String(threads.length),
  ]);
  const port = await listeningPort(c);
  const ws = threads.map((t, i) => startWorker(port, `w${i + 1}`, ['--threads', String(t), '--stay']));
  expect(await c.exited).toBe(0);
  return { out, coordinator: c.events, workers: ws.map((w) => w.events) };
}

describe('gradwire sweep on one machine: the trials on its compute threads', () => {
  it('--threads 2 (no worker process): 2 trials at a time on this process’s threads, the same trials table', async () => {
    const dir = withFiles({ 'sweep.yaml': grid() });
    const out = tempDir();
    const r = await gradwire(
      ['sweep', '--config', join(dir, 'sweep.yaml'), '--threads', '2', '--out', out, '--log-format', 'json'],
      {
        timeoutMs: 240_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(table(out)).toBe(reference);
    const events = r.stdout.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as LogEvent];
      } catch {
        return [];
      }
    });
    // no worker joined: the trials ran on this process's threads, one thread each
    expect(events.filter((e) => e.event === 'worker-joined')).toEqual([]);
    for (let i = 0; i < 6; i++) {
      const s = JSON.parse(readFileSync(join(out, 'trials', String(i), 'summary.json'), 'utf8'));
      expect(s).toMatchObject({ mode: 'threads', threads: 1 });
    }
  }, 240_000);
});

describe('a worker with N threads offers N trial seats', () => {
  it('one worker with 2 threads runs 2 trials side by side in one process, one dataset copy, the same trials table', async () => {
    const { out, workers } = await sweepOn(grid(), [2]);
    expect(table(out)).toBe(reference);
    const jobs = workers[0]!.filter((e) => e.event === 'job' && !e.reused);
    expect(jobs).toHaveLength(6);
    // trials overlapped: some job was loaded while another was held, on one thread each, and
    // read the dataset the other one's thread reads
    expect(jobs.every((e) => e.threads === 1)).toBe(true);
    expect(jobs.some((e) => e.jobs === 2 && e.datasetShared === true)).toBe(true);
    expect(Math.max(...jobs.map((e) => e.jobs as number))).toBe(2);
  }, 240_000);

  it('workersPerTrial: 2 on one 2-thread worker: each trial takes both threads (one seat), the same trials table', async () => {
    const { out, coordinator } = await sweepOn(grid('workersPerTrial: 2\n'), [2]);
    expect(table(out)).toBe(reference);
    const ready = coordinator.filter((e) => e.event === 'worker-ready');
    expect(ready).toHaveLength(6);
    expect(ready.every((e) => e.threads === 2)).toBe(true);
  }, 240_000);

  it('workersPerTrial: 3 spans the threads of two workers (2 + 1), the same trials table', async () => {
    const { out, coordinator } = await sweepOn(grid('workersPerTrial: 3\n'), [2, 1]);
    expect(table(out)).toBe(reference);
    const ready = coordinator.filter((e) => e.event === 'worker-ready');
    // every trial has a seat on each worker: 2 threads on w1, 1 on w2
    const byJob = new Map<string, Array<[string, number]>>();
    for (const e of ready)
      byJob.set(e.job as string, [...(byJob.get(e.job as string) ?? []), [e.name as string, e.threads as number]]);
    expect(byJob.size).toBe(6);
    for (const seats of byJob.values())
      expect(seats.sort()).toEqual([
        ['w1', 2],
        ['w2', 1],
      ]);
  }, 240_000);
});
