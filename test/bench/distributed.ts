// The distributed part of `npm run bench`: samples/s of the default MLP (784-256-128-10, relu,
// he_normal, Adam 1e-3) on the built-in MNIST, trained by the real CLI in-process, with 1
// worker and with 2 workers over loopback WebSockets, at global batch 128 and 1024; bytes on
// the wire per step and where a step's time goes. Every run is a child process
// (`node --import tsx bin/gradwire.js train ... --log-format json`); its `summary.json` gives the official
// samples/s (training samples over the time in training steps) and its per-step JSON events
// (`"event":"step"`: ms, bytes, computeMs, commMs) give the rest. Repetitions are interleaved,
// medians reported. Also times a numpy MLP (same shape, Adam, batch 1024, 2 BLAS threads)
// when python3 has numpy.
//
// Environment: BENCH_DIST_REPS (default 3).
//
// Columns of a step (medians over the steps of a run, step 0 excluded: it holds the JIT
// warm-up and, distributed, the wait for the workers to start):
//   compute  the slowest worker's compute time for its share (`computeMs`)
//   comm     the rest of the coordinator's wait for the gradient (`commMs`): encoding, the
//            wire, decoding and validating frames, the coordinator's gradient reduction, and
//            any worker idling while another finishes its share
//   coord    the rest of the step (`ms` − computeMs − commMs): choosing the batch, the
//            optimizer update and logging, while every worker waits
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { kernelVariant } from '../../shared/kernels/index.js';
import '../../shared/node/kernels-wasm.js';
import { envNum, fmt, log, median, spread, table } from './stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CLI = join(ROOT, 'bin/gradwire.js');

export interface Setting {
  /** label of the batch setting */
  name: string;
  batchSize: number;
  microbatch: number;
  epochs: number;
}

export const SETTINGS: Setting[] = [
  { name: 'batch 128, microbatch 16', batchSize: 128, microbatch: 16, epochs: 1 },
  { name: 'batch 1024, microbatch 16', batchSize: 1024, microbatch: 16, epochs: 6 },
  { name: 'batch 1024, microbatch 64', batchSize: 1024, microbatch: 64, epochs: 6 },
];

/** 0 = in-process */
export const MODES = [0, 1, 2] as const;
export const modeName = (workers: number): string =>
  workers === 0 ? 'in-process' : `${workers} worker${workers > 1 ? 's' : ''}`;

interface StepEvent {
  step: number;
  ms: number;
  bytes?: number;
  computeMs?: number;
  commMs?: number;
  workers?: number;
  attempts?: number;
}

export interface RunResult {
  samplesPerSecond: number;
  /** batch / median step ms, step 0 excluded */
  steadySamplesPerSecond: number;
  steps: number;
  wallSeconds: number;
  weightsSha256: string;
  stepMs: number;
  /** step 0: JIT warm-up and, distributed, the workers' start-up (counted in samplesPerSecond) */
  step0Ms: number;
  computeMs: number;
  commMs: number;
  coordMs: number;
  bytesPerStep: number;
  /** the most bytes of one step: uneven splits send more gradient blocks */
  maxBytesPerStep: number;
  /** steps whose work was handed out more than once */
  reattempts: number;
  /** the largest peak resident memory (VmHWM) of a worker process, MB (0 in-process) */
  workerPeakMB: number;
}

export interface Cell {
  setting: string;
  batchSize: number;
  microbatch: number;
  workers: number;
  mode: string;
  /** medians over the repetitions */
  samplesPerSecond: number;
  steadySamplesPerSecond: number;
  stepMs: number;
  step0Ms: number;
  computeMs: number;
  commMs: number;
  coordMs: number;
  bytesPerStep: number;
  maxBytesPerStep: number;
  /** the largest worker peak RSS over the repetitions, MB */
  workerPeakMB: number;
  reps: RunResult[];
}

/** Descendant processes of pid (Linux /proc; empty elsewhere). */
function descendants(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

/** The peak resident memory (VmHWM, MB) of pid, if it is a worker process (else 0). */
function workerPeakMB(pid: number): number {
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker/main')) return 0;
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0; // gone meanwhile
  }
}

function runCli(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; workerPeakMB: number }> {
  return new Promise((res, rej) => {
    const child = spawn(TSX, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // the workers' peak resident memory, sampled while they run (they exit with the run)
    let peak = 0;
    const sampler = setInterval(() => {
      for (const pid of descendants(child.pid!)) peak = Math.max(peak, workerPeakMB(pid));
    }, 100);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', rej);
    child.on('close', (code) => {
      clearInterval(sampler);
      res({ code, stdout, stderr, workerPeakMB: peak });
    });
  });
}

async function runOnce(dir: string, s: Setting, workers: number, tag: string): Promise<RunResult> {
  const config = join(dir, `config-${s.batchSize}-${s.microbatch}.json`);
  writeFileSync(config, JSON.stringify({ batchSize: s.batchSize, microbatch: s.microbatch, epochs: s.epochs }));
  const out = join(dir, tag);
  const t0 = performance.now();
  const r = await runCli([
    'train',
    ...(workers === 0 ? ['--in-process'] : ['--workers', String(workers)]),
    '--config',
    config,
    '--out',
    out,
    '--log-format',
    'json',
    '--log-level',
    'debug',
  ]);
  const wallSeconds = (performance.now() - t0) / 1000;
  if (r.code !== 0)
    throw new Error(
      `gradwire train (${s.name}, ${modeName(workers)}) exited with ${r.code}:\n${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`,
    );
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
    samplesPerSecond: number;
    steps: number;
    weightsSha256: string;
  };
  const events: StepEvent[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line.includes('"event":"step"')) continue;
    try {
      events.push(JSON.parse(line) as StepEvent);
    } catch {
      /* a torn line */
    }
  }
  rmSync(out, { recursive: true, force: true });
  if (events.length !== summary.steps)
    throw new Error(`${s.name}, ${modeName(workers)}: ${events.length} step events for ${summary.steps} steps`);
  // step 0 holds the warm-up (and the workers' start-up); the last step of an epoch may be short
  const steady = events.filter((e) => e.step > 0);
  const med = (f: (e: StepEvent) => number): number => median(steady.map(f));
  const stepMs = med((e) => e.ms);
  const computeMs = workers ? med((e) => e.computeMs ?? NaN) : stepMs;
  const commMs = workers ? med((e) => e.commMs ?? NaN) : 0;
  return {
    samplesPerSecond: summary.samplesPerSecond,
    steadySamplesPerSecond: (s.batchSize / stepMs) * 1000,
    steps: summary.steps,
    wallSeconds,
    weightsSha256: summary.weightsSha256,
    stepMs,
    step0Ms: events.find((e) => e.step === 0)?.ms ?? NaN,
    computeMs,
    commMs,
    coordMs: workers ? med((e) => e.ms - (e.computeMs ?? 0) - (e.commMs ?? 0)) : 0,
    bytesPerStep: workers ? med((e) => e.bytes ?? NaN) : 0,
    maxBytesPerStep: workers ? Math.max(...steady.map((e) => e.bytes ?? NaN)) : 0,
    reattempts: events.filter((e) => (e.attempts ?? 1) > 1).length,
    workerPeakMB: r.workerPeakMB,
  };
}

export interface NumpyResult {
  status: 'ok' | 'skipped';
  reason?: string;
  samplesPerSecond?: number;
  reps?: number[];
  numpy?: string;
}

const NUMPY_SCRIPT = `
import os, sys, time, json
import numpy as np
rng = np.random.default_rng(0)
N, B, sizes = 8192, int(sys.argv[2]) if len(sys.argv) > 2 else 1024, [784, 256, 128, 10]
X = rng.random((N, 784), dtype=np.float32)
Y = rng.integers(0, 10, N)
W = [(rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
bs = [np.zeros(b, np.float32) for b in sizes[1:]]
params = W + bs
m = [np.zeros_like(p) for p in params]; v = [np.zeros_like(p) for p in params]
lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
t = 0
def step(x, y):
    global t
    acts = [x]; h = x
    for i in range(3):
        z = h @ W[i] + bs[i]
        h = np.maximum(z, 0) if i < 2 else z
        acts.append(h)
    z = acts[-1]; z = z - z.max(1, keepdims=True); e = np.exp(z); p = e / e.sum(1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y] + 1e-12).mean()
    d = p; d[np.arange(len(y)), y] -= 1; d /= len(y)
    gW = [None] * 3; gb = [None] * 3
    for i in (2, 1, 0):
        gW[i] = acts[i].T @ d; gb[i] = d.sum(0)
        if i: d = (d @ W[i].T) * (acts[i] > 0)
    t += 1
    for k, g in enumerate(gW + gb):
        m[k] *= b1; m[k] += (1 - b1) * g
        v[k] *= b2; v[k] += (1 - b2) * g * g
        params[k] -= lr * (m[k] / (1 - b1 ** t)) / (np.sqrt(v[k] / (1 - b2 ** t)) + eps)
    return loss
steps = N // B
for i in range(3): step(X[i*B:(i+1)*B], Y[i*B:(i+1)*B])
rates = []
for r in range(int(sys.argv[1])):
    t0 = time.perf_counter()
    for i in range(steps): loss = step(X[i*B:(i+1)*B], Y[i*B:(i+1)*B])
    rates.append(steps * B / (time.perf_counter() - t0))
print(json.dumps({"rates": rates, "numpy": np.__version__, "loss": float(loss)}))
`;

/** numpy's MLP at this batch size with this many BLAS threads (OpenBLAS, OpenMP or MKL) */
export function benchNumpy(reps: number, batch = 1024, blasThreads = 2): NumpyResult {
  const n = String(blasThreads);
  const threads = { OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n };
  const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return { status: 'skipped', reason: 'not installed' };
  const r = spawnSync('python3', ['-c', NUMPY_SCRIPT, String(reps), String(batch)], {
    encoding: 'utf8',
    env: { ...process.env, ...threads },
    timeout: 120_000,
  });
  if (r.status !== 0)
    return {
      status: 'skipped',
      reason: `failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`,
    };
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { rates: number[]; numpy: string };
  return { status: 'ok', samplesPerSecond: median(j.rates), reps: j.rates, numpy: j.numpy };
}

export interface DistributedBench {
  reps: number;
  seconds: number;
  cells: Cell[];
  ratios: Array<{ name: string; value: number; steady: number; target: number }>;
  numpy: NumpyResult;
  /** every run of a setting ended with the same weights, whatever the mode */
  sameWeights: boolean;
  /** a worker's peak resident memory training the default MLP (batch 128), MB */
  workerPeakMB: number;
}

export async function runDistributedBench(): Promise<DistributedBench> {
  const t0 = Date.now();
  const reps = Math.round(envNum('BENCH_DIST_REPS', 3));
  const dir = mkdtempSync(join(tmpdir(), 'gradwire-bench-'));
  const runs = new Map<string, RunResult[]>();
  const key = (s: Setting, w: number): string => `${s.name}|${w}`;
  const order = SETTINGS.flatMap((s) => MODES.map((w) => ({ s, w })));
  log(`distributed: ${order.length} runs × ${reps} repetitions, interleaved (the real CLI, MNIST, default MLP)`);
  try {
    for (let r = 0; r < reps; r++) {
      const seq = r % 2 ? [...order].reverse() : order;
      for (const { s, w } of seq) {
        const res = await runOnce(dir, s, w, `r${r}-${s.batchSize}-${s.microbatch}-${w}`);
        runs.set(key(s, w), [...(runs.get(key(s, w)) ?? []), res]);
        log(
          `  rep ${r + 1}/${reps} ${s.name}, ${modeName(w)}: ${fmt(res.samplesPerSecond)} samples/s (steady ${fmt(res.steadySamplesPerSecond)}), ` +
            `step ${fmt(res.stepMs)} ms = compute ${fmt(res.computeMs)} + comm ${fmt(res.commMs)} + coord ${fmt(res.coordMs)}, ` +
            `${fmt(res.bytesPerStep / 1e6)} MB/step (max ${fmt(res.maxBytesPerStep / 1e6)}), step 0 ${fmt(res.step0Ms)} ms${res.reattempts ? `, ${res.reattempts} re-attempted steps` : ''}, ${fmt(res.wallSeconds)} s`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const cells: Cell[] = order.map(({ s, w }) => {
    const rs = runs.get(key(s, w))!;
    const med = (f: (r: RunResult) => number): number => median(rs.map(f));
    return {
      setting: s.name,
      batchSize: s.batchSize,
      microbatch: s.microbatch,
      workers: w,
      mode: modeName(w),
      samplesPerSecond: med((r) => r.samplesPerSecond),
      steadySamplesPerSecond: med((r) => r.steadySamplesPerSecond),
      stepMs: med((r) => r.stepMs),
      step0Ms: med((r) => r.step0Ms),
      computeMs: med((r) => r.computeMs),
      commMs: med((r) => r.commMs),
      coordMs: med((r) => r.coordMs),
      bytesPerStep: med((r) => r.bytesPerStep),
      maxBytesPerStep: Math.max(...rs.map((r) => r.maxBytesPerStep)),
      workerPeakMB: Math.max(...rs.map((r) => r.workerPeakMB)),
      reps: rs,
    };
  });
  const sameWeights = SETTINGS.every(
    (s) => new Set(MODES.flatMap((w) => runs.get(key(s, w))!.map((r) => r.weightsSha256))).size === 1,
  );
  const cell = (s: Setting, w: number): Cell => cells.find((c) => c.setting === s.name && c.workers === w)!;
  const ratios: DistributedBench['ratios'] = [];
  for (const s of SETTINGS.filter((x) => x.batchSize === 1024)) {
    const [ip, w1, w2] = [cell(s, 0), cell(s, 1), cell(s, 2)];
    ratios.push({
      name: `1 worker / in-process, ${s.name}`,
      value: w1.samplesPerSecond / ip.samplesPerSecond,
      steady: w1.steadySamplesPerSecond / ip.steadySamplesPerSecond,
      target: 0.9,
    });
    ratios.push({
      name: `2 workers / 1 worker, ${s.name}`,
      value: w2.samplesPerSecond / w1.samplesPerSecond,
      steady: w2.steadySamplesPerSecond / w1.steadySamplesPerSecond,
      target: 1.7,
    });
  }
  const batch128 = SETTINGS.find((x) => x.batchSize === 128)!;
  // the default run (batch 128): a worker's peak resident memory
  const workerPeakMB = Math.max(cell(batch128, 1).workerPeakMB, cell(batch128, 2).workerPeakMB);
  log('numpy MLP (784-256-128-10, Adam, batch 1024, 2 threads)');
  const numpy = benchNumpy(5);
  return { reps, seconds: (Date.now() - t0) / 1000, cells, ratios, numpy, sameWeights, workerPeakMB };
}

export function printDistributed(d: DistributedBench): void {
  const rows = d.cells.map((c) => [
    c.setting,
    c.mode,
    fmt(c.samplesPerSecond),
    fmt(c.steadySamplesPerSecond),
    fmt(c.step0Ms),
    fmt(c.stepMs),
    c.workers ? fmt(c.computeMs) : '-',
    c.workers ? fmt(c.commMs) : '-',
    c.workers ? fmt(c.coordMs) : '-',
    c.workers ? `${fmt(c.bytesPerStep / 1e6)} MB` : '-',
    c.workers ? `${fmt(c.maxBytesPerStep / 1e6)} MB` : '-',
    c.workers ? `${fmt(c.workerPeakMB)} MB` : '-',
  ]);
  process.stdout.write(
    `\n${table(['distributed (MNIST, MLP 784-256-128-10)', 'mode', 'samples/s', 'steady', 'step 0 ms', 'step ms', 'compute', 'comm', 'coord', 'wire/step', 'max wire', 'worker RSS'], rows)}\n`,
  );
  process.stdout.write(
    `(medians of ${d.reps} interleaved repetitions of the real CLI; samples/s from summary.json; ` +
      `steady = batch / median step ms without step 0 (step 0 holds warm-up and worker start-up); step = compute + comm + coord, each a median over steps 1..n (see test/bench/distributed.ts); ` +
      `same weights in every mode: ${d.sameWeights ? 'yes' : 'NO'}; spread of samples/s min–max:\n`,
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
    `worker peak resident memory, default MLP (batch 128): ${fmt(d.workerPeakMB)} MB (target ≤ 150 MB: ${d.workerPeakMB <= 150 ? 'met' : 'NOT met'}; kernels ${kernelVariant()})\n`,
  );
  if (d.numpy.status === 'ok') {
    process.stdout.write(
      `numpy ${d.numpy.numpy}: MLP 784-256-128-10, Adam, batch 1024, 2 threads: ${fmt(d.numpy.samplesPerSecond!)} samples/s ` +
        `(median of ${d.numpy.reps!.length}; ${fmt(Math.min(...d.numpy.reps!))}–${fmt(Math.max(...d.numpy.reps!))})\n`,
    );
  } else {
    process.stdout.write(`numpy: skipped (${d.numpy.reason})\n`);
  }
}

// run alone: tsx test/bench/distributed.ts
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  runDistributedBench().then(
    (d) => {
      printDistributed(d);
      process.stdout.write(`BENCH_JSON ${JSON.stringify({ distributed: d })}\n`);
    },
    (e: unknown) => {
      log(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exitCode = 1;
    },
  );
}
