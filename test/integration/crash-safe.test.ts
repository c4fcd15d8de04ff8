// Crash-safe by default (issue 15): with the default config a run writes a checkpoint at the
// end of every epoch and at least every checkpointSeconds (60) of training, so a process
// killed with SIGKILL — no chance to write one — loses at most an epoch or a minute: the same
// command with the same --out resumes from its last checkpoint, and ends with the weights of
// an uninterrupted run (invariants I1, I4). When checkpoints are written never changes the
// weights: a run with checkpointEvery: 0 (only at the end) ends with the same ones.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../shared/checkpoint.js';
import { CLI, NODE_ARGS, ROOT, tempDir, withFiles } from '../helpers/cli.js';
import {
  type LogEvent,
  Proc,
  freePort,
  killAll,
  listeningPort,
  startCoordinator,
  startWorker,
  summary,
} from '../helpers/cluster.js';

// The default run (MNIST, MLP 784-256-128-10, Adam, batch 128: 63 steps per epoch) with fewer
// epochs; nothing about checkpoints is set, so the defaults are the ones tested.
const STEPS_PER_EPOCH = 63;
const defaultFile = join(withFiles({ 'run.yaml': 'epochs: 3\n' }), 'run.yaml');
// the same with checkpoints only at the end
const endOnlyFile = join(withFiles({ 'run.yaml': 'epochs: 3\ncheckpointEvery: 0\n' }), 'run.yaml');
// smaller batches (500 steps per epoch, a second or more each) and a checkpoint every 0.3 s:
// the checkpoints fall inside epochs
const SMALL_BATCH_STEPS = 500;
const secondsFile = join(withFiles({ 'run.yaml': 'batchSize: 16\nepochs: 2\ncheckpointSeconds: 0.3\n' }), 'run.yaml');

const trains: Proc[] = [];
afterEach(async () => {
  for (const p of trains.splice(0)) {
    p.kill('SIGKILL');
    await p.exited;
  }
  await killAll();
});

/** `gradwire train --in-process` with JSON logs, its events collected as they come */
function train(configFile: string, out: string): Proc {
  const child = spawn(
    process.execPath,
    [
      ...NODE_ARGS,
      CLI,
      'train',
      '--in-process',
      '--config',
      configFile,
      '--out',
      out,
      '--store',
      join(tempDir('gradwire-store-'), 'gradwire.db'),
      '--log-format',
      'json',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } },
  );
  const p = new Proc('train', child);
  trains.push(p);
  return p;
}

/** run to the end (exit 0) and return its checkpoint events and its summary */
async function uninterrupted(configFile: string): Promise<{ checkpoints: LogEvent[]; sha: string; out: string }> {
  const out = tempDir();
  const p = train(configFile, out);
  expect(await p.exited, p.stderr).toBe(0);
  return {
    checkpoints: p.events.filter((e) => e.event === 'checkpoint'),
    sha: summary(out).weightsSha256,
    out,
  };
}

/** SIGKILL `p` as soon as it logs a checkpoint that passes `test`; returns that event */
async function killAfterCheckpoint(p: Proc, out: string, test: (e: LogEvent) => boolean = () => true) {
  const ckpt = await p.waitForEvent('checkpoint', test, 90_000);
  p.kill('SIGKILL');
  // killed, not finished: no chance to write a checkpoint of its own, no summary
  expect(await p.exited).toBe(128);
  expect(existsSync(join(out, 'summary.json'))).toBe(false);
  const file = decodeCheckpoint(readFileSync(join(out, 'checkpoint.gwc')), 'checkpoint.gwc');
  expect(file.state.step).toBeGreaterThanOrEqual(Number(ckpt.step));
  return { event: ckpt, step: file.state.step };
}

describe('with the default config', () => {
  it('a run checkpoints at the end of every epoch; checkpointEvery: 0 only at the end, with the same weights', async () => {
    const every = await uninterrupted(defaultFile);
    expect(every.checkpoints.map((e) => [e.step, e.why])).toEqual([
      [STEPS_PER_EPOCH, 'epoch'],
      [2 * STEPS_PER_EPOCH, 'epoch'],
    ]);
    const endOnly = await uninterrupted(endOnlyFile);
    expect(endOnly.checkpoints).toEqual([]);
    // the final checkpoint is written either way
    expect(decodeCheckpoint(readFileSync(join(endOnly.out, 'checkpoint.gwc')), 'c').state.step).toBe(
      3 * STEPS_PER_EPOCH,
    );
    expect(endOnly.sha).toBe(every.sha);
  }, 180_000);

  it('`train --in-process` SIGKILLed after its first checkpoint resumes from it and ends with the weights of an uninterrupted run', async () => {
    const reference = (await uninterrupted(defaultFile)).sha;
    const out = tempDir();
    const first = train(defaultFile, out);
    const killed = await killAfterCheckpoint(first, out);
    expect(killed.event).toMatchObject({ step: STEPS_PER_EPOCH, why: 'epoch' });
    const second = train(defaultFile, out);
    const resumed = await second.waitForEvent('resume');
    expect(Number(resumed.step)).toBeGreaterThan(0);
    expect(resumed.step).toBe(killed.step);
    expect(await second.exited, second.stderr).toBe(0);
    const s = summary(out);
    expect(s.resumedFromStep).toBe(killed.step);
    expect(s.steps).toBe(3 * STEPS_PER_EPOCH);
    expect(s.weightsSha256).toBe(reference);
  }, 180_000);

  it('a coordinator SIGKILLed after its first checkpoint, started again with the same --out, resumes and ends with the in-process weights', async () => {
    const reference = (await uninterrupted(defaultFile)).sha;
    const out = tempDir();
    const port = await freePort();
    const args = ['--config', defaultFile, '--listen', `127.0.0.1:${port}`, '--out', out, '--min-workers', '2'];
    const first = startCoordinator(args);
    await listeningPort(first);
    startWorker(port, 'a');
    startWorker(port, 'b');
    const killed = await killAfterCheckpoint(first, out);
    expect(Number(killed.event.step)).toBeGreaterThan(0);
    // the workers reconnect to the new coordinator on the same port
    const second = startCoordinator(args);
    const resumed = await second.waitForEvent('resume');
    expect(Number(resumed.step)).toBeGreaterThan(0);
    expect(resumed.step).toBe(killed.step);
    expect(await second.exited, second.stderr).toBe(0);
    const s = summary(out);
    expect(s.resumedFromStep).toBe(killed.step);
    expect(s.weightsSha256).toBe(reference);
  }, 240_000);
});

describe('checkpointSeconds', () => {
  it('writes checkpoints inside an epoch on a clock; killed after one, the run resumes mid-epoch with unchanged weights', async () => {
    const ref = await uninterrupted(secondsFile);
    // the clock's checkpoints fall where they fall: every run writes its own, the weights are the same
    expect(ref.checkpoints.some((e) => e.why === 'seconds' && Number(e.step) % SMALL_BATCH_STEPS !== 0)).toBe(true);
    expect(ref.checkpoints.filter((e) => e.why === 'epoch').map((e) => e.step)).toEqual([SMALL_BATCH_STEPS]);
    const out = tempDir();
    const first = train(secondsFile, out);
    const killed = await killAfterCheckpoint(first, out, (e) => e.why === 'seconds');
    const second = train(secondsFile, out);
    const resumed = await second.waitForEvent('resume');
    expect(Number(resumed.step)).toBeGreaterThan(0);
    expect(resumed.step).toBe(killed.step);
    expect(await second.exited, second.stderr).toBe(0);
    expect(summary(out)).toMatchObject({ resumedFromStep: killed.step, weightsSha256: ref.sha });
  }, 180_000);
});
