// Liveness for containers and probes: the status file every long-running process keeps
// current, `gradwire health`, /healthz, and a coordinator that stays up when done (--stay).
// Readiness: `gradwire health --ready`, a worker connected to a coordinator and holding its job.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHealth } from '../../coordinator/cli/check-health.js';
import { gradwire, tempDir, withFiles } from '../helpers/cli.js';
import { freePort, killAll, listeningPort, startCoordinator, startWorker } from '../helpers/cluster.js';

const IRIS = `
data: { name: iris }
model: { hidden: [8] }
batchSize: 16
epochs: 2
`;

afterAll(killAll);

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('gradwire health reads the status file', () => {
  const dir = tempDir('gradwire-health-');
  const base = { url: null, maxAgeMs: 30_000, timeoutMs: 2_000 };

  it('is unhealthy without a status file, and says what is missing', async () => {
    const r = await checkHealth({ ...base, statusFile: join(dir, 'absent.json') });
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/absent\.json: ENOENT/);
    expect((await checkHealth({ ...base, statusFile: null })).message).toMatch(/GRADWIRE_STATUS_FILE/);
  });

  it('is healthy while a worker status is fresh, unhealthy once it is older than --max-age', async () => {
    const file = join(dir, 'worker.json');
    const at = Date.parse('2026-01-01T00:00:00Z');
    writeFileSync(
      file,
      JSON.stringify({ role: 'worker', pid: 42, state: 'idle', updatedAt: new Date(at).toISOString() }),
    );
    expect(await checkHealth({ ...base, statusFile: file, now: at + 29_000 })).toMatchObject({ ok: true });
    const stale = await checkHealth({ ...base, statusFile: file, now: at + 31_000 });
    expect(stale.ok).toBe(false);
    expect(stale.message).toMatch(/31 s old \(limit 30 s\)/);
  });

  it("asks a coordinator's /healthz: a fresh file is not enough when the server does not answer", async () => {
    const file = join(dir, 'coordinator.json');
    writeFileSync(
      file,
      JSON.stringify({
        role: 'coordinator',
        pid: 42,
        state: 'running',
        updatedAt: new Date().toISOString(),
        healthUrl: 'http://127.0.0.1:9/healthz',
      }),
    );
    const r = await checkHealth({ ...base, statusFile: file });
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/127\.0\.0\.1:9\/healthz: .*ECONNREFUSED/);
  });

  it('the command exits 1 and names the problem; bad flags are usage errors (2)', async () => {
    const r = await gradwire(['health', '--status-file', join(dir, 'absent.json')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^unhealthy: .*absent\.json/);
    const bad = await gradwire(['health', '--max-age', 'soon']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--max-age: "soon" must be a number of seconds > 0/);
  });
});

describe('a coordinator with --stay and its worker, as in a Kubernetes Deployment', () => {
  it('finishes the run, stays up saying "done", stays healthy, and exits 0 on SIGTERM', async () => {
    const dir = withFiles({ 'iris.yaml': IRIS });
    const coordStatus = join(dir, 'coordinator.status');
    const workerStatus = join(dir, 'worker.status');
    const c = startCoordinator(
      ['--config', join(dir, 'iris.yaml'), '--listen', '127.0.0.1:0', '--out', join(dir, 'out'), '--stay'],
      {
        GRADWIRE_STATUS_FILE: coordStatus,
      },
    );
    const port = await listeningPort(c);
    const w = startWorker(port, 'w1', ['--stay'], undefined, { GRADWIRE_STATUS_FILE: workerStatus });
    await c.waitForEvent('staying');

    const h = await getJson(`http://127.0.0.1:${port}/healthz`);
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', state: 'done', workers: 1 });
    expect(JSON.parse(readFileSync(coordStatus, 'utf8'))).toMatchObject({
      role: 'coordinator',
      pid: c.pid,
      state: 'done',
      healthUrl: `http://127.0.0.1:${port}/healthz`,
    });
    expect(JSON.parse(readFileSync(workerStatus, 'utf8'))).toMatchObject({ role: 'worker', pid: w.pid });

    const coordHealth = await gradwire(['health'], { env: { GRADWIRE_STATUS_FILE: coordStatus } });
    expect(coordHealth.status).toBe(0);
    expect(coordHealth.stdout).toMatch(/^healthy: coordinator \d+ done: .*"state":"done"/);
    const workerHealth = await gradwire(['health'], { env: { GRADWIRE_STATUS_FILE: workerStatus } });
    expect(workerHealth.status).toBe(0);
    expect(workerHealth.stdout).toMatch(/^healthy: worker \d+ /);

    // still there a while after the run: a Deployment's pod must not exit
    await new Promise((r) => setTimeout(r, 1000));
    expect(c.exitCode).toBeNull();
    expect(w.exitCode).toBeNull();

    c.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    const after = await gradwire(['health'], { env: { GRADWIRE_STATUS_FILE: coordStatus } });
    expect(after.status).toBe(1);
    expect(after.stdout).toMatch(/ECONNREFUSED/);
    w.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('without --stay the coordinator exits 0 when the run is done (and /healthz said "running" before)', async () => {
    const dir = withFiles({ 'iris.yaml': IRIS });
    const c = startCoordinator([
      '--config',
      join(dir, 'iris.yaml'),
      '--listen',
      '127.0.0.1:0',
      '--out',
      join(dir, 'out'),
    ]);
    const port = await listeningPort(c);
    expect((await getJson(`http://127.0.0.1:${port}/healthz`)).body).toMatchObject({
      state: 'running',
      workers: 0,
    });
    const w = startWorker(port, 'w1');
    expect(await c.exited).toBe(0);
    expect(await w.exited).toBe(0);
  });
});

describe('train with a local pool', () => {
  it('writes the status file from the train process only (its workers do not overwrite it)', async () => {
    const dir = withFiles({ 'iris.yaml': IRIS });
    const status = join(dir, 'train.status');
    const r = await gradwire(
      [
        'train',
        '--workers',
        '2',
        '--config',
        join(dir, 'iris.yaml'),
        '--out',
        join(dir, 'out'),
        '--log-format',
        'json',
      ],
      {
        env: { GRADWIRE_STATUS_FILE: status },
      },
    );
    expect(r.status).toBe(0);
    const s = JSON.parse(readFileSync(status, 'utf8')) as { role: string; state: string };
    expect(s.role).toBe('coordinator');
    expect(s.state).toBe('done');
  });
});

describe('readiness: gradwire health --ready', () => {
  const dir = tempDir('gradwire-ready-');
  const base = { url: null, maxAgeMs: 30_000, timeoutMs: 2_000, ready: true };
  const write = (name: string, status: Record<string, unknown>): string => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify({ role: 'worker', pid: 42, updatedAt: new Date().toISOString(), ...status }));
    return file;
  };

  it('a worker is ready only when connected (idle or working) and holding a job; alive either way', async () => {
    const cases: Array<[Record<string, unknown>, boolean, RegExp]> = [
      [{ state: 'connecting', job: null }, false, /^worker 42 connecting: not connected to a coordinator$/],
      [{ state: 'connecting', job: 'run-1' }, false, /not connected to a coordinator/],
      [{ state: 'idle', job: null }, false, /^worker 42 idle: connected, holds no job yet$/],
      [{ state: 'idle' }, false, /holds no job yet/],
      [{ state: 'idle', job: 'run-1' }, true, /^worker 42 idle, job run-1$/],
      [{ state: 'working', job: 'run-1' }, true, /^worker 42 working, job run-1$/],
    ];
    for (const [status, ok, message] of cases) {
      const file = write('w.json', status);
      const r = await checkHealth({ ...base, statusFile: file });
      expect(r, JSON.stringify(status)).toMatchObject({ ok });
      expect(r.message).toMatch(message);
      expect((await checkHealth({ ...base, ready: false, statusFile: file })).ok).toBe(true);
    }
    // a stale status is not ready either
    const stale = write('stale.json', {
      state: 'working',
      job: 'run-1',
      updatedAt: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(await checkHealth({ ...base, statusFile: stale })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/60 s old/) as unknown,
    });
  });

  it('the command prints ready / not ready and exits 0 / 1; --ready with --url is a usage error', async () => {
    const yes = await gradwire([
      'health',
      '--ready',
      '--status-file',
      write('yes.json', { state: 'idle', job: 'run-1' }),
    ]);
    expect(yes.status).toBe(0);
    expect(yes.stdout).toBe('ready: worker 42 idle, job run-1\n');
    const no = await gradwire(['health', '--ready'], {
      env: { GRADWIRE_STATUS_FILE: write('no.json', { state: 'idle', job: null }) },
    });
    expect(no.status).toBe(1);
    expect(no.stdout).toMatch(/^not ready: worker 42 idle: connected, holds no job yet/);
    const both = await gradwire(['health', '--ready', '--url', 'http://127.0.0.1:9/healthz']);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/--ready reads the status file/);
    expect((await gradwire(['health', '--help'])).stdout).toMatch(/--ready/);
  });

  it('a real worker: alive but not ready while no coordinator answers, ready once it holds the job, and its job is named', async () => {
    const d = withFiles({ 'iris.yaml': IRIS });
    const status = join(d, 'worker.status');
    const port = await freePort();
    const w = startWorker(port, 'w-ready', [], undefined, { GRADWIRE_STATUS_FILE: status });
    const waitFor = async (
      test: (s: { state: string; job?: string | null }) => boolean,
      what: string,
    ): Promise<void> => {
      for (let i = 0; i < 200; i++) {
        try {
          if (test(JSON.parse(readFileSync(status, 'utf8')) as { state: string; job?: string | null })) return;
        } catch {
          /* not written yet */
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${what}: ${readFileSync(status, 'utf8')}`);
    };
    await waitFor((s) => s.state === 'connecting', 'the worker status');
    const before = await gradwire(['health', '--ready'], { env: { GRADWIRE_STATUS_FILE: status } });
    expect(before.status).toBe(1);
    expect(before.stdout).toMatch(/^not ready: worker \d+ connecting: not connected to a coordinator/);
    expect((await gradwire(['health'], { env: { GRADWIRE_STATUS_FILE: status } })).status).toBe(0);

    // a coordinator waiting for 2 workers: this one holds the job while it waits
    const c = startCoordinator([
      '--config',
      join(d, 'iris.yaml'),
      '--listen',
      `127.0.0.1:${port}`,
      '--min-workers',
      '2',
      '--out',
      join(d, 'out'),
    ]);
    await waitFor((s) => s.state !== 'connecting' && typeof s.job === 'string', 'the worker to hold the job');
    const ready = await gradwire(['health', '--ready'], { env: { GRADWIRE_STATUS_FILE: status } });
    expect(ready.status, ready.stdout).toBe(0);
    expect(ready.stdout).toMatch(/^ready: worker \d+ (idle|working), job run-/);
    const runId = c.events.find((e) => typeof e.run === 'string')?.run as string | undefined;
    expect(runId).toBeDefined();
    expect(ready.stdout).toContain(`job ${runId}`);

    const w2 = startWorker(port, 'w-ready-2');
    expect(await c.exited).toBe(0);
    expect(await w.exited).toBe(0);
    expect(await w2.exited).toBe(0);
  }, 60_000);
});
