// Workers with compute threads (`gradwire worker --threads N`, a thread team per process) over
// real sockets: invariant I1 whatever the workers × threads (1×2, 1×3, 2×2, and 3 workers of
// 1, 2 and 3 threads), with BatchNorm + dropout and with LayerNorm; a thread that throws or
// exits mid-step (the pass runs again), a thread lost after a BatchNorm round was sent (the
// worker drops its connection, the step is handed out again), a 2-thread worker SIGKILLed,
// frozen with SIGSTOP or joining mid-run — the in-process weights every time. The hello's
// threads reach the telemetry (/api/state) and /metrics (gradwire_worker_threads).
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, withFiles } from '../helpers/cli.js';
import { spiralsRun } from '../helpers/fixtures.js';
import {
  inProcessSha,
  killAll,
  listeningPort,
  type Proc,
  sharedCache,
  startCoordinator,
  startWorker,
  summary,
} from '../helpers/cluster.js';

// 960 training samples, batch 50 → 19 steps of 50 and one of 10 per epoch; microbatch 8 →
// 6 microbatches of 8 and one of 2 per full batch (as exactness.test.ts)
const small = (norm: string): string => `
seed: 21
data: { name: spirals, samples: 1200, classes: 3, noise: 0.2 }
model: { hidden: [32, 24], activation: gelu, init: he_uniform, norm: ${norm}, dropout: 0.2 }
optimizer: { name: adam, lr: 0.01 }
batchSize: 50
microbatch: 8
epochs: 2
`;
// 2400 training samples, batch 48, microbatch 8: 50 steps per epoch (as failures.test.ts)
const longer = spiralsRun;

const file = (text: string): string => join(withFiles({ 'run.yaml': text }), 'run.yaml');
const files = {
  batch: file(small('batch')),
  layer: file(small('layer')),
  long: file(longer(3)),
  join: file(longer(15)),
};
const reference = {
  batch: await inProcessSha(files.batch),
  layer: await inProcessSha(files.layer),
  long: await inProcessSha(files.long),
  join: await inProcessSha(files.join),
};

afterEach(killAll);

/** A coordinator on `config` waiting for `min` workers; its output folder and port. */
async function coordinator(config: string, min: number, extra: string[] = []) {
  const out = tempDir();
  const c = startCoordinator([
    '--config',
    config,
    '--listen',
    '127.0.0.1:0',
    '--out',
    out,
    '--min-workers',
    String(min),
    ...extra,
  ]);
  return { c, out, port: await listeningPort(c) };
}

function worker(port: number, name: string, threads: number, env: Record<string, string> = {}): Proc {
  return startWorker(port, name, ['--threads', String(threads)], sharedCache, env);
}

describe.each(['batch', 'layer'] as const)('I1 with threads, norm: %s, dropout 0.2', (norm) => {
  it.each([
    ['1×2', [2]],
    ['1×3', [3]],
    ['2×2', [2, 2]],
    ['3 workers of 1, 2 and 3 threads', [1, 2, 3]],
  ] as const)('%s: the in-process weightsSha256', async (_n, threads) => {
    const { c, out, port } = await coordinator(files[norm], threads.length);
    const ws = threads.map((t, i) => worker(port, `t${i + 1}`, t));
    for (const [i, t] of threads.entries()) {
      const joined = await c.waitForEvent('worker-joined', (e) => e.name === `t${i + 1}`);
      expect(joined.threads).toBe(t);
    }
    expect(await c.exited).toBe(0);
    for (const w of ws) expect(await w.exited).toBe(0);
    const s = summary(out);
    expect(s.workers).toBe(threads.length);
    expect(s.steps).toBe(40);
    expect(s.weightsSha256).toBe(reference[norm]);
  });
});

describe('a compute thread lost mid-step', () => {
  it.each(['throw', 'exit'] as const)(
    '%s in thread 1 at step 5: the team replaces it, the pass runs again, the weights are unchanged',
    async (kind) => {
      const { c, out, port } = await coordinator(files.batch, 1);
      const w = worker(port, 'faulty', 2, { GRADWIRE_TEST_THREAD_FAULT: `${kind}:1:5` });
      const lost = await w.waitForEvent('thread-lost');
      expect(lost).toMatchObject({ step: 5, rerun: true, level: 40 });
      await w.waitForEvent('thread-replaced', (e) => e.thread === 1);
      expect(await c.exited).toBe(0);
      expect(await w.exited).toBe(0);
      // the worker never left: no step was handed out again
      expect(c.events.filter((e) => e.event === 'reassign')).toEqual([]);
      expect(summary(out).weightsSha256).toBe(reference.batch);
    },
  );

  it('after a BatchNorm round was sent: the worker drops its connection, the step is handed out again', async () => {
    // the 150-step run (BatchNorm too): long enough that the faulty worker is back, after its
    // reconnect backoff (200–250 ms), before the steady one has finished the run alone (on the
    // 40-step run a loaded CI machine once ended the run first, and the worker found no coordinator)
    const { c, out, port } = await coordinator(files.long, 2);
    const w = worker(port, 'faulty', 2, { GRADWIRE_TEST_THREAD_FAULT: 'late:0:5' });
    worker(port, 'steady', 2);
    expect(await w.waitForEvent('thread-lost')).toMatchObject({ step: 5, rerun: false, level: 40 });
    const gone = await c.waitForEvent('reassign', (e) => e.name === 'faulty');
    expect(gone).toMatchObject({ step: 5, restart: true });
    // it reconnects and keeps its loaded job (and threads)
    await w.waitForEvent('job', (e) => e.reused === true);
    expect(await c.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference.long);
  });
});

describe('a 2-thread worker that fails or joins mid-run', () => {
  it('SIGKILLed: the run completes with the same weights', async () => {
    const { c, out, port } = await coordinator(files.long, 2);
    const ws = [worker(port, 'a', 2), worker(port, 'b', 1)];
    await c.waitForStep(20);
    ws[0]!.kill('SIGKILL');
    await c.waitFor((e) => (e.event === 'reassign' || e.event === 'disconnected') && e.name === 'a', 'a gone');
    expect(await c.exited).toBe(0);
    expect(summary(out)).toMatchObject({ steps: 150, weightsSha256: reference.long });
  });

  it('frozen with SIGSTOP: dropped after the heartbeat timeout, the run completes unchanged', async () => {
    const { c, out, port } = await coordinator(files.long, 2, ['--heartbeat-timeout', '1.5']);
    const ws = [worker(port, 'a', 1), worker(port, 'b', 2)];
    await c.waitForStep(20);
    ws[1]!.kill('SIGSTOP');
    const timeout = await c.waitForEvent('heartbeat-timeout', (e) => e.name === 'b');
    expect(timeout.silentMs).toBeGreaterThanOrEqual(1500);
    expect(await c.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference.long);
  });

  it('joining mid-run: used from then on; its threads reach the telemetry and /metrics; same weights', async () => {
    const { c, out, port } = await coordinator(files.join, 1);
    worker(port, 'first', 1);
    await c.waitForStep(10);
    worker(port, 'late', 2);
    await c.waitForEvent('worker-ready', (e) => e.name === 'late');
    await c.waitFor((e) => e.event === 'step' && e.workers === 2, 'a step computed by 2 workers');
    const base = `http://127.0.0.1:${port}`;
    const state = (await (await fetch(`${base}/api/state`)).json()) as {
      workers: Array<{ name: string; threads: number }>;
    };
    expect(state.workers.find((w) => w.name === 'late')?.threads).toBe(2);
    expect(state.workers.find((w) => w.name === 'first')?.threads).toBe(1);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^# HELP gradwire_worker_threads /m);
    expect(metrics).toMatch(/^# TYPE gradwire_worker_threads gauge$/m);
    expect(metrics).toMatch(/^gradwire_worker_threads\{worker="w\d+",name="late"\} 2$/m);
    expect(metrics).toMatch(/^gradwire_worker_threads\{worker="w\d+",name="first"\} 1$/m);
    expect(metrics).toMatch(/^gradwire_worker_samples_per_second_per_thread\{worker="w\d+",name="late"\} [0-9.e+]+$/m);
    expect(await c.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference.join);
  });
});
