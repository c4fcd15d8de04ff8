// The threads part of `npm run bench` (BENCH_ONLY=threads): what compute threads buy on this
// machine, through the real CLI (`node --import tsx bin/gradwire.js ...`, one child process
// per role, JSON logs), repetitions interleaved (the order reversed every other repetition),
// medians reported.
//
// 1. `gradwire train` (no mode flag: the compute threads of its own process, `--threads auto`)
//    against `gradwire train --in-process` (one thread, the reference), the default MLP on the
//    built-in MNIST at batch 128 (microbatch 16) and batch 1024 (microbatch 16): samples/s from
//    summary.json and their ratio, beside numpy/OpenBLAS with 1 and 2 BLAS threads on the same
//    MLP at the same batch sizes (skipped without numpy). Every run's weightsSha256 must equal
//    the in-process one of its setting (else the bench fails).
// 2. One worker process with `--threads 2` against one with `--threads 1`, behind a coordinator
//    (`gradwire coordinator --listen 127.0.0.1:0`, then `gradwire worker --connect ...`, both
//    started the same way), batch 1024: samples/s, their ratio, and the worker's peak resident
//    memory (VmHWM from /proc, sampled every 100 ms; the compute threads are in that process).
// 3. The bytes on the coordinator's socket per step (the step events' `bytes`) for 1 worker ×
//    1 thread and 1 worker × 2 threads: they must be equal (else the bench fails).
//
// samples/s is summary.json's (training samples over the time in training steps, step 0
// included: it holds the JIT warm-up and, with a coordinator, the worker's start-up); "steady"
// is batch / median step ms over steps 1..n. For a threads run the step events also carry
// `threads: [ms per thread]`: the table shows the median over steps of the slowest thread's
// compute ("compute") and the rest of the step ("other": the main thread's optimizer update,
// the reduction of the threads' blocks, logging).
//
// Environment: BENCH_DIST_REPS (repetitions, default 3).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchNumpy, type NumpyResult } from './distributed.js';
import {
  cpuSeconds,
  peakMB,
  type Proc,
  type Rss,
  rssMB,
  type StepEvent,
  start,
  stepEvents,
  waitForPort,
} from './procs.js';
import { envNum, fmt, log, median, spread, table } from './stats.js';

interface Setting {
  name: string;
  batchSize: number;
  microbatch: number;
  epochs: number;
}

const SETTINGS: Setting[] = [
  { name: 'batch 128, microbatch 16', batchSize: 128, microbatch: 16, epochs: 3 },
  { name: 'batch 1024, microbatch 16', batchSize: 1024, microbatch: 16, epochs: 6 },
];
const WORKER_SETTING = SETTINGS[1]!;

/** in-process, threads (train's default), or one worker process with 1 or 2 threads */
type Mode = 'in-process' | 'threads' | 'worker×1' | 'worker×2';

export interface ThreadRun {
  samplesPerSecond: number;
  steadySamplesPerSecond: number;
  steps: number;
  /** summary.json's threads (train) or the worker's --threads */
  threads: number;
  weightsSha256: string;
  stepMs: number;
  step0Ms: number;
  /** threads run: the slowest thread per step; worker: computeMs; in-process: the step */
  computeMs: number;
  /** the step minus computeMs */
  otherMs: number;
  /** threads run: median over steps of (fastest thread / slowest thread) */
  balance: number;
  bytesPerStep: number;
  maxBytesPerStep: number;
  workerPeakMB: number;
  /** the worker's resident memory at the largest sampled VmRSS, split by kind */
  workerRss: Rss | null;
  /** the process's wall time, start-up included */
  wallSeconds: number;
  /** CPU seconds over wall seconds of the train/coordinator process and of the worker (0 if
   *  none): how many of the 2 cores each kept busy, start-up included */
  coordCores: number;
  workerCores: number;
}

export interface ThreadCell {
  setting: string;
  batchSize: number;
  mode: Mode;
  samplesPerSecond: number;
  steadySamplesPerSecond: number;
  stepMs: number;
  step0Ms: number;
  computeMs: number;
  otherMs: number;
  balance: number;
  bytesPerStep: number;
  maxBytesPerStep: number;
  workerPeakMB: number;
  coordCores: number;
  workerCores: number;
  threads: number;
  reps: ThreadRun[];
}

async function runOnce(dir: string, s: Setting, mode: Mode, tag: string): Promise<ThreadRun> {
  const config = join(dir, `config-${s.batchSize}-${s.microbatch}.json`);
  writeFileSync(config, JSON.stringify({ batchSize: s.batchSize, microbatch: s.microbatch, epochs: s.epochs }));
  const out = join(dir, tag);
  const common = ['--config', config, '--out', out, '--log-format', 'json', '--log-level', 'debug'];
  let coord: Proc;
  let worker: Proc | null = null;
  let workerThreads = 0;
  let peak = 0;
  let peakRss: Rss | null = null;
  let sampler: NodeJS.Timeout | undefined;
  // CPU seconds of each process, sampled while it runs (the last sample before it exits)
  const cpu = { coord: 0, worker: 0 };
  const t0 = performance.now();
  if (mode === 'in-process' || mode === 'threads') {
    coord = start(['train', ...(mode === 'in-process' ? ['--in-process'] : []), ...common]);
    const c = coord;
    sampler = setInterval(() => {
      cpu.coord = Math.max(cpu.coord, cpuSeconds(c.child.pid!));
    }, 100);
  } else {
    workerThreads = mode === 'worker×2' ? 2 : 1;
    coord = start(['coordinator', '--listen', '127.0.0.1:0', '--min-workers', '1', ...common]);
    const port = await waitForPort(coord);
    const w = start([
      'worker',
      '--connect',
      `ws://127.0.0.1:${port}`,
      '--threads',
      String(workerThreads),
      '--name',
      `bench-${workerThreads}t`,
      '--log-format',
      'json',
    ]);
    worker = w;
    const c = coord;
    sampler = setInterval(() => {
      peak = Math.max(peak, peakMB(w.child.pid!));
      const now = rssMB(w.child.pid!);
      if (now && (!peakRss || now.rss > peakRss.rss)) peakRss = now;
      cpu.coord = Math.max(cpu.coord, cpuSeconds(c.child.pid!));
      cpu.worker = Math.max(cpu.worker, cpuSeconds(w.child.pid!));
    }, 100);
  }
  const code = await coord.exited;
  const wallSeconds = (performance.now() - t0) / 1000;
  const wcode = worker ? await worker.exited : 0;
  clearInterval(sampler);
  if (code !== 0 || wcode !== 0)
    throw new Error(
      `${s.name}, ${mode}: coordinator exited with ${code}, worker with ${wcode}:\n${coord.stderr.slice(-2000)}${coord.stdout.slice(-2000)}${worker ? worker.stderr.slice(-2000) : ''}`,
    );
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
    samplesPerSecond: number;
    steps: number;
    weightsSha256: string;
    mode?: string;
    threads?: number;
  };
  rmSync(out, { recursive: true, force: true });
  if (mode === 'threads' && summary.mode !== 'threads')
    throw new Error(`${s.name}: train without a mode flag ran in mode "${summary.mode}", not "threads"`);
  const events = stepEvents(coord.stdout);
  if (events.length !== summary.steps)
    throw new Error(`${s.name}, ${mode}: ${events.length} step events for ${summary.steps} steps`);
  const steady = events.filter((e) => e.step > 0);
  const med = (f: (e: StepEvent) => number): number => median(steady.map(f));
  const stepMs = med((e) => e.ms);
  let computeMs = stepMs;
  let balance = 1;
  if (mode === 'threads') {
    computeMs = med((e) => Math.max(...(e.threads ?? [NaN])));
    balance = med((e) => Math.min(...(e.threads ?? [NaN])) / Math.max(...(e.threads ?? [NaN])));
  } else if (worker) computeMs = med((e) => e.computeMs ?? NaN);
  return {
    samplesPerSecond: summary.samplesPerSecond,
    steadySamplesPerSecond: (s.batchSize / stepMs) * 1000,
    steps: summary.steps,
    threads: worker ? workerThreads : (summary.threads ?? 1),
    weightsSha256: summary.weightsSha256,
    stepMs,
    step0Ms: events.find((e) => e.step === 0)?.ms ?? NaN,
    computeMs,
    otherMs: med((e) => e.ms) - computeMs,
    balance,
    bytesPerStep: worker ? med((e) => e.bytes ?? NaN) : 0,
    maxBytesPerStep: worker ? Math.max(...steady.map((e) => e.bytes ?? NaN)) : 0,
    workerPeakMB: peak,
    workerRss: peakRss,
    wallSeconds,
    coordCores: cpu.coord / wallSeconds,
    workerCores: cpu.worker / wallSeconds,
  };
}

export interface ThreadsBench {
  reps: number;
  seconds: number;
  cells: ThreadCell[];
  ratios: Array<{ name: string; value: number; steady: number; target: number }>;
  /** numpy per batch size and BLAS thread count */
  numpy: Array<{ batchSize: number; blasThreads: number; result: NumpyResult }>;
  /** every run of a setting ended with the in-process weights of that setting */
  exact: boolean;
  /** median bytes per step, 1 worker × 1 thread and 1 worker × 2 threads (batch 1024) */
  bytes: { oneThread: number; twoThreads: number; equal: boolean };
  /** the 2-thread worker's peak resident memory over the repetitions, MB */
  workerPeakMB: number;
  /** the largest sampled resident memory of each worker run, split by kind */
  workerRss: Array<{ mode: Mode; rss: Rss | null }>;
}

export async function runThreadsBench(): Promise<ThreadsBench> {
  const t0 = Date.now();
  const reps = Math.round(envNum('BENCH_DIST_REPS', 3));
  const dir = mkdtempSync(join(tmpdir(), 'gradwire-bench-threads-'));
  const order: Array<{ s: Setting; mode: Mode }> = [
    ...SETTINGS.flatMap((s) => (['in-process', 'threads'] as const).map((mode) => ({ s, mode }))),
    { s: WORKER_SETTING, mode: 'worker×1' },
    { s: WORKER_SETTING, mode: 'worker×2' },
  ];
  const key = (s: Setting, mode: Mode): string => `${s.name}|${mode}`;
  const runs = new Map<string, ThreadRun[]>();
  log(`threads: ${order.length} runs × ${reps} repetitions, interleaved (the real CLI, MNIST, default MLP)`);
  try {
    for (let r = 0; r < reps; r++) {
      const seq = r % 2 ? [...order].reverse() : order;
      for (const { s, mode } of seq) {
        const res = await runOnce(dir, s, mode, `r${r}-${s.batchSize}-${mode}`);
        runs.set(key(s, mode), [...(runs.get(key(s, mode)) ?? []), res]);
        log(
          `  rep ${r + 1}/${reps} ${s.name}, ${mode} (${res.threads} thread${res.threads > 1 ? 's' : ''}): ${fmt(res.samplesPerSecond)} samples/s (steady ${fmt(res.steadySamplesPerSecond)}), ` +
            `step ${fmt(res.stepMs)} ms = compute ${fmt(res.computeMs)} + other ${fmt(res.otherMs)}` +
            (mode === 'threads' ? `, thread balance ${fmt(res.balance)}` : '') +
            (res.bytesPerStep
              ? `, ${fmt(res.bytesPerStep / 1e6)} MB/step, worker peak ${fmt(res.workerPeakMB)} MB`
              : '') +
            `, step 0 ${fmt(res.step0Ms)} ms, ${fmt(res.wallSeconds)} s wall, cores busy: ${fmt(res.coordCores)}` +
            (res.workerCores ? ` + worker ${fmt(res.workerCores)}` : ''),
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const cells: ThreadCell[] = order.map(({ s, mode }) => {
    const rs = runs.get(key(s, mode))!;
    const med = (f: (r: ThreadRun) => number): number => median(rs.map(f));
    return {
      setting: s.name,
      batchSize: s.batchSize,
      mode,
      threads: rs[0]!.threads,
      samplesPerSecond: med((r) => r.samplesPerSecond),
      steadySamplesPerSecond: med((r) => r.steadySamplesPerSecond),
      stepMs: med((r) => r.stepMs),
      step0Ms: med((r) => r.step0Ms),
      computeMs: med((r) => r.computeMs),
      otherMs: med((r) => r.otherMs),
      balance: med((r) => r.balance),
      bytesPerStep: med((r) => r.bytesPerStep),
      maxBytesPerStep: Math.max(...rs.map((r) => r.maxBytesPerStep)),
      workerPeakMB: Math.max(...rs.map((r) => r.workerPeakMB)),
      coordCores: med((r) => r.coordCores),
      workerCores: med((r) => r.workerCores),
      reps: rs,
    };
  });
  // every run gives the in-process weights of its setting, whatever the mode and thread count
  for (const s of SETTINGS) {
    const ref = runs.get(key(s, 'in-process'))![0]!.weightsSha256;
    for (const { s: s2, mode } of order.filter((o) => o.s === s))
      for (const r of runs.get(key(s2, mode))!)
        if (r.weightsSha256 !== ref)
          throw new Error(
            `${s.name}, ${mode}: weightsSha256 ${r.weightsSha256} is not the in-process ${ref}: NOT exact`,
          );
  }
  const cell = (s: Setting, mode: Mode): ThreadCell => cells.find((c) => c.setting === s.name && c.mode === mode)!;
  const ratios: ThreadsBench['ratios'] = SETTINGS.map((s) => {
    const [ip, th] = [cell(s, 'in-process'), cell(s, 'threads')];
    return {
      name: `train (${th.threads} threads) / --in-process, ${s.name}`,
      value: th.samplesPerSecond / ip.samplesPerSecond,
      steady: th.steadySamplesPerSecond / ip.steadySamplesPerSecond,
      target: s.batchSize === 128 ? 1.6 : 1.8,
    };
  });
  const [w1, w2] = [cell(WORKER_SETTING, 'worker×1'), cell(WORKER_SETTING, 'worker×2')];
  ratios.push({
    name: `1 worker --threads 2 / --threads 1, ${WORKER_SETTING.name}`,
    value: w2.samplesPerSecond / w1.samplesPerSecond,
    steady: w2.steadySamplesPerSecond / w1.steadySamplesPerSecond,
    target: 1.7,
  });
  // every step of every run, not only the medians: the same bytes whatever the threads
  const allBytes = (c: ThreadCell): number[] => c.reps.map((r) => r.bytesPerStep);
  const bytes = {
    oneThread: w1.bytesPerStep,
    twoThreads: w2.bytesPerStep,
    equal:
      new Set([...allBytes(w1), ...allBytes(w2)]).size === 1 &&
      new Set([...w1.reps, ...w2.reps].map((r) => r.maxBytesPerStep)).size === 1,
  };
  if (!bytes.equal)
    throw new Error(
      `bytes per step differ: 1 thread ${allBytes(w1).join(', ')} (max ${w1.maxBytesPerStep}), 2 threads ${allBytes(w2).join(', ')} (max ${w2.maxBytesPerStep})`,
    );
  const numpy: ThreadsBench['numpy'] = [];
  for (const s of SETTINGS)
    for (const blasThreads of [1, 2]) {
      log(`numpy MLP (784-256-128-10, Adam, batch ${s.batchSize}, ${blasThreads} BLAS thread(s))`);
      numpy.push({ batchSize: s.batchSize, blasThreads, result: benchNumpy(5, s.batchSize, blasThreads) });
    }
  return {
    reps,
    seconds: (Date.now() - t0) / 1000,
    cells,
    ratios,
    numpy,
    exact: true,
    bytes,
    workerPeakMB: w2.workerPeakMB,
    workerRss: [w1, w2].flatMap((c) => c.reps.map((r) => ({ mode: c.mode, rss: r.workerRss }))),
  };
}

export function printThreads(d: ThreadsBench): void {
  const np = (batch: number, t: number): string => {
    const n = d.numpy.find((x) => x.batchSize === batch && x.blasThreads === t)!.result;
    return n.status === 'ok' ? fmt(n.samplesPerSecond!) : `skipped (${n.reason})`;
  };
  const rows = d.cells.map((c) => [
    c.setting,
    c.mode,
    String(c.threads),
    fmt(c.samplesPerSecond),
    fmt(c.steadySamplesPerSecond),
    fmt(c.step0Ms),
    fmt(c.stepMs),
    fmt(c.computeMs),
    fmt(c.otherMs),
    c.mode === 'threads' ? fmt(c.balance) : '-',
    c.bytesPerStep ? `${fmt(c.bytesPerStep / 1e6)} MB` : '-',
    c.workerPeakMB ? `${fmt(c.workerPeakMB)} MB` : '-',
    c.workerCores ? `${fmt(c.coordCores)} + ${fmt(c.workerCores)}` : fmt(c.coordCores),
  ]);
  process.stdout.write(
    `\n${table(['threads (MNIST, MLP 784-256-128-10)', 'mode', 'threads', 'samples/s', 'steady', 'step 0 ms', 'step ms', 'compute', 'other', 'balance', 'wire/step', 'worker RSS', 'cores'], rows)}\n`,
  );
  process.stdout.write(
    `(medians of ${d.reps} interleaved repetitions of the real CLI; samples/s from summary.json, steady = batch / median step ms over steps 1..n; ` +
      `compute = the slowest thread's ms (threads), the worker's computeMs (worker×N), the step (in-process); balance = fastest / slowest thread; ` +
      `cores = CPU seconds / wall seconds of the train or coordinator process (+ the worker's), start-up included; ` +
      `weights: ${d.exact ? 'exact' : 'NOT exact'} (every run's weightsSha256 = the in-process one of its setting); spread of samples/s min–max:\n`,
  );
  for (const c of d.cells) {
    const sp = spread(c.reps.map((r) => r.samplesPerSecond));
    process.stdout.write(`  ${c.setting}, ${c.mode}: ${fmt(sp.min)}–${fmt(sp.max)}\n`);
  }
  process.stdout.write(`  ${d.seconds.toFixed(1)} s)\n`);
  process.stdout.write(
    `\n${table(
      ['ratio', 'samples/s', 'steady', 'target', 'met'],
      d.ratios.map((r) => [r.name, fmt(r.value), fmt(r.steady), `≥ ${r.target}`, r.value >= r.target ? 'yes' : 'no']),
    )}\n`,
  );
  process.stdout.write(
    `\n${table(
      [
        'numpy/OpenBLAS, same MLP, Adam',
        'gradwire --in-process',
        'gradwire threads',
        'numpy 1 thread',
        'numpy 2 threads',
      ],
      SETTINGS.map((s) => {
        const c = (m: Mode): string => fmt(d.cells.find((x) => x.setting === s.name && x.mode === m)!.samplesPerSecond);
        return [`batch ${s.batchSize}`, c('in-process'), c('threads'), np(s.batchSize, 1), np(s.batchSize, 2)];
      }),
    )}\n`,
  );
  process.stdout.write(
    `bytes on the coordinator's socket per step, ${WORKER_SETTING.name}: 1 worker × 1 thread ${fmt(d.bytes.oneThread)} B, ` +
      `1 worker × 2 threads ${fmt(d.bytes.twoThreads)} B (${d.bytes.equal ? 'equal' : 'NOT equal'})\n`,
  );
  process.stdout.write(
    `peak resident memory of the 2-thread worker process: ${fmt(d.workerPeakMB)} MB (target ≤ 200 MB: ${d.workerPeakMB <= 200 ? 'met' : 'NOT met'})\n`,
  );
  process.stdout.write(
    `worker resident memory at its largest sample (VmRSS = anonymous + file-backed + shared, MB): ${d.workerRss
      .map((w) =>
        w.rss
          ? `${w.mode} ${fmt(w.rss.rss)} = ${fmt(w.rss.anon)} + ${fmt(w.rss.file)} + ${fmt(w.rss.shmem)}`
          : `${w.mode} -`,
      )
      .join('; ')}\n`,
  );
}

// run alone: tsx test/bench/threads.ts
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  runThreadsBench().then(
    (d) => {
      printThreads(d);
      process.stdout.write(`BENCH_JSON ${JSON.stringify({ threads: d })}\n`);
    },
    (e: unknown) => {
      log(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exitCode = 1;
    },
  );
}
