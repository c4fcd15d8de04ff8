// Failures do not change the weights (invariants I1, I4): a worker killed or frozen mid-run,
// a worker joining mid-run, the coordinator killed and restarted on the same output folder.
// And a coordinator without workers waits, saying so, without spinning.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, withFiles } from '../helpers/cli.js';
import {
  cpuSeconds,
  freePort,
  inProcessSha,
  killAll,
  listeningPort,
  startCoordinator,
  startWorker,
  summary,
} from '../helpers/cluster.js';

// 2400 training samples, batch 48, microbatch 8: 50 steps per epoch, 150 in all
const config = (norm: string, extra = ''): string => `
seed: 7
data: { name: spirals, samples: 3000, classes: 3, noise: 0.2 }
model: { hidden: [32, 32], activation: tanh, norm: ${norm}, dropout: 0.2 }
optimizer: { name: adam, lr: 0.005 }
batchSize: 48
microbatch: 8
epochs: 3
${extra}`;

const bnFile = join(withFiles({ 'run.yaml': config('batch', 'checkpointEvery: 5') }), 'run.yaml');
const plainFile = join(withFiles({ 'run.yaml': config('none') }), 'run.yaml');
// long enough (750 steps) for a second worker process to start while it runs
const longFile = join(withFiles({ 'run.yaml': config('batch', 'epochs: 15').replace('epochs: 3\n', '') }), 'run.yaml');
const reference = {
  bn: await inProcessSha(bnFile),
  plain: await inProcessSha(plainFile),
  long: await inProcessSha(longFile),
};

afterEach(killAll);

describe('a worker that fails mid-run', () => {
  it.each([
    ['with BatchNorm (the step restarts)', bnFile, 'bn'],
    ['without BatchNorm (only its microbatches move)', plainFile, 'plain'],
  ] as const)('SIGKILL one of 3 workers %s: the run completes with the same weights', async (_n, file, ref) => {
    const out = tempDir();
    const c = startCoordinator(['--config', file, '--listen', '127.0.0.1:0', '--out', out, '--min-workers', '3']);
    const port = await listeningPort(c);
    const ws = [1, 2, 3].map((i) => startWorker(port, `w${i}`));
    await c.waitForStep(20);
    ws[1]!.kill('SIGKILL');
    // the coordinator notices; if the kill landed mid-step (steps here take ~1 ms, so it may
    // fall between two), the worker's microbatches were handed out again
    const gone = await c.waitFor(
      (e) => (e.event === 'reassign' || e.event === 'disconnected') && e.name === 'w2',
      'w2 gone',
    );
    if (gone.event === 'reassign') expect(gone).toMatchObject({ restart: ref === 'bn' });
    expect(await c.exited).toBe(0);
    const s = summary(out);
    expect(s.weightsSha256).toBe(reference[ref]);
    expect(s.steps).toBe(150);
  });

  it('a worker frozen with SIGSTOP is dropped after the heartbeat timeout and the run completes unchanged', async () => {
    const out = tempDir();
    const c = startCoordinator([
      '--config',
      bnFile,
      '--listen',
      '127.0.0.1:0',
      '--out',
      out,
      '--min-workers',
      '3',
      '--heartbeat-timeout',
      '1.5',
    ]);
    const port = await listeningPort(c);
    const ws = [1, 2, 3].map((i) => startWorker(port, `w${i}`));
    await c.waitForStep(20);
    ws[2]!.kill('SIGSTOP');
    const timeout = await c.waitForEvent('heartbeat-timeout', (e) => e.name === 'w3');
    expect(timeout.silentMs).toBeGreaterThanOrEqual(1500);
    expect(await c.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference.bn);
  });
});

describe('a worker that joins mid-run', () => {
  it('is used from the next step on, and the weights are unchanged', async () => {
    const out = tempDir();
    const c = startCoordinator(['--config', longFile, '--listen', '127.0.0.1:0', '--out', out, '--min-workers', '1']);
    const port = await listeningPort(c);
    startWorker(port, 'first');
    await c.waitForStep(10);
    startWorker(port, 'late');
    await c.waitForEvent('worker-ready', (e) => e.name === 'late');
    await c.waitFor((e) => e.event === 'step' && e.workers === 2, 'a step computed by 2 workers');
    expect(await c.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference.long);
  });
});

describe('the coordinator killed mid-run', () => {
  it('started again with the same --out resumes from its checkpoint and ends with the same weights', async () => {
    const out = tempDir();
    const port = await freePort();
    const args = ['--config', bnFile, '--listen', `127.0.0.1:${port}`, '--out', out, '--min-workers', '2'];
    const first = startCoordinator(args);
    await listeningPort(first);
    startWorker(port, 'a');
    startWorker(port, 'b');
    await first.waitForStep(33);
    first.kill('SIGKILL');
    await first.exited;
    const second = startCoordinator(args);
    const resumed = await second.waitForEvent('resume');
    expect(resumed.step).toBeGreaterThanOrEqual(30); // checkpointEvery: 5
    expect(await second.exited).toBe(0);
    const s = summary(out);
    expect(s.resumedFromStep).toBe(resumed.step);
    expect(s.weightsSha256).toBe(reference.bn);
  });

  it('SIGTERM writes a checkpoint and exits 143 (stopped, not done); the next start resumes from that exact step', async () => {
    const out = tempDir();
    const port = await freePort();
    const args = ['--config', plainFile, '--listen', `127.0.0.1:${port}`, '--out', out];
    const first = startCoordinator(args);
    await listeningPort(first);
    startWorker(port, 'a', ['--stay']);
    await first.waitForStep(12);
    first.kill('SIGTERM');
    const stopped = await first.waitForEvent('stopped');
    expect(await first.exited).toBe(143);
    const second = startCoordinator(args);
    expect((await second.waitForEvent('resume')).step).toBe(stopped.step);
    expect(await second.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference.plain);
  });
});

describe('no workers', () => {
  it('the coordinator waits and says so, without spinning, then trains when one arrives', async () => {
    const out = tempDir();
    const c = startCoordinator(['--config', plainFile, '--listen', '127.0.0.1:0', '--out', out]);
    const port = await listeningPort(c);
    const waiting = await c.waitForEvent('waiting');
    expect(waiting.msg).toMatch(/waiting for workers: 0 ready, 1 needed/);
    const cpu0 = cpuSeconds(c.pid);
    await new Promise((r) => setTimeout(r, 2000));
    expect(cpuSeconds(c.pid) - cpu0).toBeLessThan(0.3); // idle, not polling
    expect(c.exitCode).toBeNull();
    startWorker(port, 'finally');
    expect(await c.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference.plain);
  });
});
