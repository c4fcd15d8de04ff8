// The soak part of `npm run bench` (BENCH_ONLY=soak): does memory stay flat over a long run?
// The default MLP (784-256-128-10, BatchNorm, dropout 0.2, Adam) on the built-in MNIST at
// batch 32 (microbatch 16: both workers compute in every step), BENCH_SOAK_STEPS steps
// (default 10,000): a coordinator with two workers, then `train --in-process`, through the real
// CLI. Each process records its memory every 500 ms after a forced full GC
// (test/helpers/memory-probe.mjs), so the numbers are what it retains, not garbage waiting for
// a collection. Printed: RSS, JavaScript heap and external memory (typed arrays, the kernels'
// WebAssembly memory) of each process at every 10% of the run, and the growth from the end of
// the warm-up (the first 1,000 steps) to the end, against the 30 MB the soak test allows.
//
// Environment: BENCH_SOAK_STEPS (default 10000, a multiple of 250).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/cli.js';
import { CLI, killAll, listeningPort, startCoordinator, startWorker, type LogEvent } from '../helpers/cluster.js';
import { growth, memoryProbeEnv, readSamples, type Growth, type MemorySample } from '../helpers/memory.js';
import { envNum, fmt, log, table } from './stats.js';

const STEPS_PER_EPOCH = 250; // 8,000 training digits / batch 32
const WARM_UP = 1000;
const LIMIT_MB = 30;

export interface SoakProcess {
  name: string;
  /** MB at every tenth of the run: [step, rss, heapUsed, external] */
  trace: Array<[number, number, number, number]>;
  growth: Growth;
}

export interface SoakResult {
  steps: number;
  processes: SoakProcess[];
  seconds: { distributed: number; inProcess: number };
  flat: boolean;
}

const time = (e: LogEvent): number => Date.parse(String(e.time));

/** The step each sample was taken in, from the run's step events. */
function traceOf(samples: MemorySample[], steps: LogEvent[], total: number): SoakProcess['trace'] {
  const rows: SoakProcess['trace'] = [];
  const marks = steps.map((e) => ({ step: e.step as number, t: time(e) }));
  for (let tenth = 1; tenth <= 10; tenth++) {
    const at = marks.find((m) => m.step >= Math.round((total * tenth) / 10) - 1);
    if (!at) continue;
    const s = samples.filter((x) => x.t <= at.t).at(-1);
    if (s) rows.push([at.step + 1, s.rss / 1e6, s.heapUsed / 1e6, s.external / 1e6]);
  }
  return rows;
}

export async function runSoakBench(): Promise<SoakResult> {
  const steps = Math.round(envNum('BENCH_SOAK_STEPS', 10_000) / STEPS_PER_EPOCH) * STEPS_PER_EPOCH;
  const dir = tempDir('gradwire-soak-bench-');
  const config = join(dir, 'run.yaml');
  writeFileSync(
    config,
    [
      'seed: 5',
      'data: { name: mnist }',
      'model: { hidden: [256, 128], activation: relu, init: he_normal, norm: batch, dropout: 0.2 }',
      'optimizer: { name: adam, lr: 0.001 }',
      'batchSize: 32',
      'microbatch: 16',
      `epochs: ${steps / STEPS_PER_EPOCH}`,
      '',
    ].join('\n'),
  );
  const file = (n: string): string => join(dir, `${n}.memory.jsonl`);
  const processes: SoakProcess[] = [];

  log(`soak: coordinator + 2 workers, ${steps} steps of the default MLP at batch 32`);
  let t0 = Date.now();
  const c = startCoordinator(
    [
      '--config',
      config,
      '--listen',
      '127.0.0.1:0',
      '--min-workers',
      '2',
      '--out',
      join(dir, 'dist'),
      '--store',
      join(dir, 'g.db'),
    ],
    memoryProbeEnv(file('coordinator')),
  );
  const port = await listeningPort(c);
  for (const w of ['worker-1', 'worker-2']) startWorker(port, w, [], undefined, memoryProbeEnv(file(w)));
  const warm = await c.waitForStep(WARM_UP, 300_000);
  const done = await c.waitForEvent('done', undefined, 3_600_000);
  await c.exited;
  await killAll();
  const distributedSeconds = (Date.now() - t0) / 1000;
  const stepEvents = c.events.filter((e) => e.event === 'step');
  for (const name of ['coordinator', 'worker-1', 'worker-2']) {
    const samples = readSamples(file(name));
    processes.push({
      name,
      trace: traceOf(samples, stepEvents, steps),
      growth: growth(samples, time(warm), time(done)),
    });
  }

  log(`soak: train --in-process, ${steps} steps`);
  t0 = Date.now();
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      CLI,
      'train',
      '--in-process',
      '--config',
      config,
      '--out',
      join(dir, 'in-process'),
      '--store',
      join(dir, 'g.db'),
      '--log-format',
      'json',
      '--log-level',
      'debug',
    ],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ...memoryProbeEnv(file('in-process'), 250) },
      maxBuffer: 1 << 30,
    },
  );
  if (r.status !== 0) throw new Error(`train --in-process failed: ${r.stderr}`);
  const inProcessSeconds = (Date.now() - t0) / 1000;
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogEvent);
  const ipSteps = events.filter((e) => e.event === 'step');
  const ipWarm = ipSteps.find((e) => (e.step as number) >= WARM_UP)!;
  const ipDone = events.find((e) => e.event === 'done')!;
  const samples = readSamples(file('in-process'));
  processes.push({
    name: 'in-process',
    trace: traceOf(samples, ipSteps, steps),
    growth: growth(samples, time(ipWarm), time(ipDone)),
  });

  const flat = processes.every(
    (p) => p.growth.rss.growth < LIMIT_MB && p.growth.heapUsed.growth < LIMIT_MB && p.growth.external.growth < LIMIT_MB,
  );
  return {
    steps,
    processes,
    seconds: { distributed: distributedSeconds, inProcess: inProcessSeconds },
    flat,
  };
}

export function printSoak(s: SoakResult): void {
  const out = (line: string): boolean => process.stdout.write(`${line}\n`);
  out(`\nmemory over ${s.steps} steps (MB after a forced GC: rss / heap / external), by step:`);
  for (const p of s.processes) {
    out(
      `  ${p.name}: ${p.trace.map(([step, rss, heap, ext]) => `${step}: ${fmt(rss)}/${fmt(heap)}/${fmt(ext)}`).join('  ')}`,
    );
  }
  out('');
  out(
    table(
      ['process', `rss after ${WARM_UP} steps → end`, 'heap', 'external', 'samples'],
      s.processes.map((p) => [
        p.name,
        `${p.growth.rss.start} → ${p.growth.rss.end} (${p.growth.rss.growth >= 0 ? '+' : ''}${p.growth.rss.growth})`,
        `${p.growth.heapUsed.start} → ${p.growth.heapUsed.end} (${p.growth.heapUsed.growth >= 0 ? '+' : ''}${p.growth.heapUsed.growth})`,
        `${p.growth.external.start} → ${p.growth.external.end} (${p.growth.external.growth >= 0 ? '+' : ''}${p.growth.external.growth})`,
        String(p.growth.samples),
      ]),
    ),
  );
  out(
    `(start and end: medians of 3 samples; ${s.flat ? `flat: every growth < ${LIMIT_MB} MB` : `NOT FLAT: a growth ≥ ${LIMIT_MB} MB`}; ` +
      `distributed ${s.seconds.distributed.toFixed(0)} s, in-process ${s.seconds.inProcess.toFixed(0)} s)`,
  );
}
