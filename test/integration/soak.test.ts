// Memory stays flat over a long run (issue 12): a coordinator with two workers over 5,000
// steps, and `train --in-process` over as many, each process sampled after a forced full GC
// (test/helpers/memory-probe.mjs). After a warm-up of 1,000 steps the retained memory (RSS,
// JavaScript heap, and external memory, where typed arrays live) may grow by less than 30 MB.
// The model is 784-64-32-10 (52,650 parameters, 206 KB of gradient): the run-loop leak this
// test was written for kept one gradient per step, ≈ 1 GB over these 5,000 steps.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gradwire, tempDir, withFiles } from '../helpers/cli.js';
import { killAll, listeningPort, startCoordinator, startWorker, summary, type LogEvent } from '../helpers/cluster.js';
import { growth, memoryProbeEnv, readSamples, type Growth } from '../helpers/memory.js';

// MNIST's 8,000 training digits, batch 32 → 250 steps per epoch, 20 epochs = 5,000 steps;
// two microbatches per step, so both workers compute in every step (BatchNorm sync, dropout)
const CONFIG = `
seed: 3
data: { name: mnist }
model: { hidden: [64, 32], activation: relu, init: he_normal, norm: batch, dropout: 0.2 }
optimizer: { name: adam, lr: 0.001 }
batchSize: 32
microbatch: 16
epochs: 20
`;
const STEPS = 5000;
const WARM_UP = 1000;
const LIMIT_MB = 30;

afterAll(killAll);

const time = (e: LogEvent): number => Date.parse(String(e.time));

function expectFlat(who: string, g: Growth): void {
  const line = `${who}: rss ${g.rss.start} → ${g.rss.end} MB, heap ${g.heapUsed.start} → ${g.heapUsed.end} MB, external ${g.external.start} → ${g.external.end} MB (${g.samples} samples)`;
  console.log(line);
  expect(g.rss.growth, line).toBeLessThan(LIMIT_MB);
  expect(g.heapUsed.growth, line).toBeLessThan(LIMIT_MB);
  expect(g.external.growth, line).toBeLessThan(LIMIT_MB);
}

describe('memory over 5,000 steps', () => {
  const dir = withFiles({ 'run.yaml': CONFIG });

  it('a coordinator and its two workers retain no memory per step', async () => {
    const out = tempDir('gradwire-soak-');
    const file = (n: string): string => join(out, `${n}.memory.jsonl`);
    const c = startCoordinator(
      [
        '--config',
        join(dir, 'run.yaml'),
        '--listen',
        '127.0.0.1:0',
        '--min-workers',
        '2',
        '--out',
        join(out, 'run'),
        '--store',
        join(out, 'g.db'),
      ],
      memoryProbeEnv(file('coordinator')),
    );
    const port = await listeningPort(c);
    for (const w of ['w1', 'w2']) startWorker(port, w, [], undefined, memoryProbeEnv(file(w)));
    const warm = await c.waitForStep(WARM_UP, 120_000);
    const done = await c.waitForEvent('done', undefined, 300_000);
    expect(await c.exited).toBe(0);
    expect(summary(join(out, 'run')).steps).toBe(STEPS);
    for (const who of ['coordinator', 'w1', 'w2'])
      expectFlat(who, growth(readSamples(file(who)), time(warm), time(done)));
  }, 420_000);

  it('train --in-process retains no memory per step', async () => {
    const out = tempDir('gradwire-soak-');
    const file = join(out, 'in-process.memory.jsonl');
    const r = await gradwire(
      [
        'train',
        '--in-process',
        '--config',
        join(dir, 'run.yaml'),
        '--out',
        join(out, 'run'),
        '--store',
        join(out, 'g.db'),
        '--log-format',
        'json',
        '--log-level',
        'debug',
      ],
      { env: memoryProbeEnv(file, 200), timeoutMs: 300_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const events = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogEvent);
    const warm = events.find((e) => e.event === 'step' && (e.step as number) >= WARM_UP)!;
    const done = events.find((e) => e.event === 'done')!;
    expect(summary(join(out, 'run')).steps).toBe(STEPS);
    expectFlat('in-process', growth(readSamples(file), time(warm), time(done)));
  }, 300_000);
});
