// `npm run bench`: gradwire's kernels and in-process training against TF.js on its wasm
// backend, in one process, repetitions interleaved (a machine shared with others drifts), medians
// reported. The table goes to stdout, progress to stderr, and the last stdout line is
// `BENCH_JSON {...}` with the same numbers plus every repetition.
//
// Then the distributed part (test/bench/distributed.ts): samples/s of the default MLP on MNIST
// through the real CLI in-process, with 1 and 2 workers, bytes per step, where a step's time
// goes, and a numpy MLP for reference.
//
// Environment: BENCH_REPS (default 5), BENCH_STEPS (training steps per repetition, default 20),
// BENCH_GEMM_SECONDS (minimum seconds per GEMM repetition, default 0.3), BENCH_DIST_REPS
// (repetitions of each distributed run, default 3), BENCH_SWEEP_REPS (repetitions of each sweep
// throughput run, default 2), BENCH_SAMPLER_SEEDS (sampler seeds of the samplers part, default
// 100), BENCH_ONLY=distributed|threads|kernels|sweep|dashboard|soak|samplers|predict|spool|browser (run one part).
//
// Then the threads part (test/bench/threads.ts): `gradwire train` on its compute threads against
// --in-process (and numpy with 1 and 2 BLAS threads), one worker with --threads 2 against
// --threads 1 behind a coordinator, that worker's peak memory and the bytes per step.
//
// Then the sweep part (test/bench/sweep.ts): trials/hour of a small MNIST sweep with 1 and 2
// workers, and the epochs ASHA spends against plain random search.
//
// Then the dashboard part (test/bench/dashboard.ts): samples/s of the same run with and without
// a live dashboard client connected (BENCH_DASH_REPS, BENCH_DASH_EPOCHS, BENCH_DASH_BROWSER=1).
//
// Then the soak part (test/bench/soak.ts): memory of a coordinator, its workers and an
// in-process run over BENCH_SOAK_STEPS steps (default 10,000), after a forced GC.
//
// Then the samplers part (test/bench/samplers.ts): random, tpe and narrow on a synthetic
// objective modelled on the lecture's exercise, no training (only `suggest` runs), sequential
// and with 4 trials in flight: the best after 10/20/30/60 trials and the trials tpe and narrow
// need to reach random's 60-trial best.
//
// The spool part (test/bench/spool.ts): predict's stdout written directly against through its
// all-or-nothing spool (a temporary file copied to stdout at the end), side by side.
//
// Then the predict part (test/bench/predict.ts): samples/s and peak RSS of gradwire predict's
// pipeline in-process on the 10,000 built-in digits (IDX) and on 10× as many rows: the default
// threads, then one thread with the sparse first layer (auto) and the dense one, side by side.
//
// Then the browser part (test/bench/browser.ts): samples/s of one Chromium page at /join against
// one Node worker (1 thread each), the same job side by side, and their compute per microbatch.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import type { RunConfig } from '../../shared/config-types.js';
import { validateDataset, type Dataset } from '../../shared/data/dataset.js';
import { Trainer } from '../../shared/engine/trainer.js';
import { createKernels, kernelVariant } from '../../shared/kernels/index.js';
import '../../shared/node/kernels-wasm.js';
import { Dense } from '../../shared/nn/dense.js';
import type { Layer, PassContext } from '../../shared/nn/layer.js';
import { printBrowser, runBrowserBench } from './browser.js';
import { printDashboard, runDashboardBench } from './dashboard.js';
import { printDistributed, runDistributedBench } from './distributed.js';
import { printPredict, runPredictBench } from './predict.js';
import { printSamplers, runSamplersBench } from './samplers.js';
import { printSoak, runSoakBench } from './soak.js';
import { printSpool, runSpoolBench } from './spool.js';
import { printSweep, runSweepBench } from './sweep.js';
import { printThreads, runThreadsBench } from './threads.js';
import { batchTensors, TfMlp } from './tfjs-mlp.js';
import {
  envNum,
  fmt,
  interleave,
  log,
  median,
  randomArray,
  seededRandom,
  spread,
  table,
  timeN,
  timeRep,
  type Contender,
} from './stats.js';

/** gradwire's compute kernels in this process (GRADWIRE_KERNELS=js|wasm-simd|auto picks them) */
const GRADWIRE_KERNEL = kernelVariant();

const REPS = Math.round(envNum('BENCH_REPS', 5));
const STEPS = Math.round(envNum('BENCH_STEPS', 20));
const GEMM_SECONDS = envNum('BENCH_GEMM_SECONDS', 0.3);
const BATCH = 128;
const SAMPLES = 2048;
const FEATURES = 784;
const CLASSES = 10;
const HIDDEN = [256, 128];

interface Measurement {
  name: string;
  unit: string;
  gradwire: number;
  tfjs: number;
  ratio: number;
  reps: { gradwire: number[]; tfjs: number[] };
}

function measurement(name: string, unit: string, rates: number[][]): Measurement {
  const [g, t] = rates as [number[], number[]];
  const gradwire = median(g);
  const tfjs = median(t);
  return { name, unit, gradwire, tfjs, ratio: gradwire / tfjs, reps: { gradwire: g, tfjs: t } };
}

async function initTf(): Promise<{ backend: string; threads: number; simd: boolean; multithread: boolean }> {
  const require = createRequire(import.meta.url);
  setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('TF.js: the wasm backend failed to initialize');
  await tf.ready();
  return {
    backend: tf.getBackend(),
    threads: getThreadsCount(),
    simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    multithread: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
  };
}

// ---------------------------------------------------------------- GEMM

function benchGemm(M: number, K: number, N: number, seed: number): Measurement {
  const flops = 2 * M * K * N;
  const rand = seededRandom(seed);
  const k = createKernels();
  const x = k.alloc(M * K);
  x.set(randomArray(M * K, rand));

  // gradwire: Dense(K → N) forward, y = x·Wᵀ + b with W [N × K], in its kernels' memory
  const layer: Layer = new Dense(K, N, 'he_normal');
  layer.bind(k.alloc(layer.paramSize), k.alloc(0), k);
  layer.reset(seed);
  const cache = layer.newCache(M);
  const ctx: PassContext = { training: true, seed: 0, step: 0, samples: new Int32Array(M) };
  const gw = (): void => layer.forward(x, M, cache, ctx);

  // TF.js: a [M × K] · b [K × N], tensors made once
  const a = tf.tensor2d(x, [M, K]);
  const b = tf.tensor2d(randomArray(K * N, rand), [K, N]);
  const tfmm = (): void => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };

  // both compute the same product: gradwire's output against TF.js's x·Wᵀ + bias
  gw();
  const w = layer.params.subarray(0, N * K);
  const ref = tf.tidy(() =>
    tf.add(tf.matMul(a, tf.tensor2d(w, [N, K]), false, true), tf.tensor1d(layer.params.slice(N * K))).dataSync(),
  );
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i]! - cache.out[i]!));
  log(`  check: max |gradwire − tfjs| = ${maxDiff.toExponential(2)}`);
  if (!(maxDiff < 1e-3)) throw new Error(`GEMM ${M}×${K}·${K}×${N}: gradwire and TF.js disagree (max diff ${maxDiff})`);

  // warm-up (JIT / wasm tiers), then interleaved repetitions
  timeRep(gw, 0.1, 2);
  timeRep(tfmm, 0.1, 5);
  const gflops = (fn: () => void) => (): number => {
    const { iters, seconds } = timeRep(fn, GEMM_SECONDS, 2);
    return (iters * flops) / seconds / 1e9;
  };
  const contenders: Contender[] = [
    { name: 'gradwire', rep: gflops(gw) },
    { name: 'tfjs', rep: gflops(tfmm) },
  ];
  const rates = interleave(contenders, REPS, log);
  tf.dispose([a, b]);
  return measurement(`GEMM ${M}×${K}·${K}×${N} (GFLOP/s)`, 'GFLOP/s', rates);
}

// ---------------------------------------------------------------- training

function syntheticData(seed: number): Dataset {
  const rand = seededRandom(seed);
  const x = randomArray(SAMPLES * FEATURES, rand, 0, 1);
  const y = new Int32Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) y[i] = i % CLASSES; // every class present
  for (let i = SAMPLES - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = y[i]!;
    y[i] = y[j]!;
    y[j] = t;
  }
  return validateDataset({
    name: 'synthetic-784x10',
    n: SAMPLES,
    features: FEATURES,
    classes: CLASSES,
    x,
    y,
  });
}

/** DEFAULT_RUN_CONFIG with the benchmarked model and optimizer made explicit */
function runConfig(norm: 'none' | 'batch', dropout: number): RunConfig {
  const base = DEFAULT_RUN_CONFIG;
  const { layers, ...model } = base.model;
  if (layers) log('  note: DEFAULT_RUN_CONFIG.model.layers is ignored; the bench uses the compact MLP form');
  return {
    ...base,
    batchSize: BATCH,
    epochs: 100_000,
    model: { ...model, hidden: [...HIDDEN], activation: 'relu', init: 'he_normal', norm, dropout },
    optimizer: { ...base.optimizer, name: 'adam', lr: 1e-3 },
  };
}

function benchTraining(label: string, norm: 'none' | 'batch', dropout: number, data: Dataset): Measurement {
  const cfg = runConfig(norm, dropout);
  const idx = Int32Array.from({ length: data.n }, (_, i) => i);
  const trainer = new Trainer(cfg, data, { train: idx, val: new Int32Array(0), test: new Int32Array(0) });
  const batches = batchTensors(data.x, data.y, data.n, FEATURES, CLASSES, BATCH);
  const o = cfg.optimizer;
  const mlp = new TfMlp({
    sizes: [FEATURES, ...HIDDEN, CLASSES],
    norm,
    dropout,
    lr: o.lr,
    beta1: o.beta1!,
    beta2: o.beta2!,
    eps: o.eps!,
    seed: cfg.seed,
  });
  log(
    `  gradwire: ${trainer.model.describe()}, ${trainer.model.paramCount} params, microbatch ${cfg.microbatch}; tfjs: ${mlp.paramCount} params`,
  );

  let gwLoss = NaN;
  let tfLoss = NaN;
  let next = 0;
  const gwStep = (): void => {
    gwLoss = trainer.trainStep().loss;
  };
  const tfStep = (): void => {
    const bt = batches[next]!;
    next = (next + 1) % batches.length;
    tfLoss = mlp.step(bt.x, bt.y);
  };
  timeN(gwStep, 3);
  timeN(tfStep, 5);
  const tensorsBefore = tf.memory().numTensors; // after warm-up: Adam makes its slots lazily
  const firstLoss = { gradwire: gwLoss, tfjs: tfLoss };
  const perSecond = (fn: () => void) => (): number => (STEPS * BATCH) / timeN(fn, STEPS);
  const rates = interleave(
    [
      { name: 'gradwire', rep: perSecond(gwStep) },
      { name: 'tfjs', rep: perSecond(tfStep) },
    ],
    REPS,
    log,
  );
  log(
    `  loss after warm-up → end: gradwire ${fmt(firstLoss.gradwire)} → ${fmt(gwLoss)}, tfjs ${fmt(firstLoss.tfjs)} → ${fmt(tfLoss)}`,
  );
  if (!Number.isFinite(gwLoss) || !Number.isFinite(tfLoss)) throw new Error(`${label}: a loss is not finite`);
  const leaked = tf.memory().numTensors - tensorsBefore;
  if (leaked !== 0) log(`  warning: ${leaked} TF.js tensors leaked over the training repetitions`);
  mlp.dispose();
  for (const bt of batches) tf.dispose([bt.x, bt.y]);
  return measurement(`train ${label} (samples/s)`, 'samples/s', rates);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY ?? '';
  const parts = [
    'distributed',
    'threads',
    'kernels',
    'sweep',
    'dashboard',
    'soak',
    'samplers',
    'predict',
    'spool',
    'browser',
  ];
  if (only && !parts.includes(only)) throw new Error(`BENCH_ONLY: "${only}" is not one of ${parts.join(', ')}`);
  const t0 = Date.now();
  const kernels = only === '' || only === 'kernels' ? await benchKernels() : null;
  const distributed = only === '' || only === 'distributed' ? await runDistributedBench() : null;
  if (distributed) printDistributed(distributed);
  const threads = only === '' || only === 'threads' ? await runThreadsBench() : null;
  if (threads) printThreads(threads);
  const sweep = only === '' || only === 'sweep' ? await runSweepBench() : null;
  if (sweep) printSweep(sweep);
  const dashboard = only === '' || only === 'dashboard' ? await runDashboardBench() : null;
  if (dashboard) printDashboard(dashboard);
  const soak = only === '' || only === 'soak' ? await runSoakBench() : null;
  if (soak) printSoak(soak);
  const samplers = only === '' || only === 'samplers' ? runSamplersBench() : null;
  if (samplers) printSamplers(samplers);
  const predict = only === '' || only === 'predict' ? await runPredictBench() : null;
  if (predict) printPredict(predict);
  const spool = only === '' || only === 'spool' ? await runSpoolBench() : null;
  if (spool) printSpool(spool);
  const browser = only === '' || only === 'browser' ? await runBrowserBench() : null;
  printBrowser(browser);
  const seconds = (Date.now() - t0) / 1000;
  process.stdout.write(`\ntotal ${seconds.toFixed(1)} s\n`);
  process.stdout.write(
    `BENCH_JSON ${JSON.stringify({ ...(kernels ?? {}), distributed, threads, sweep, dashboard, soak, samplers, predict, spool, browser, seconds })}\n`,
  );
}

async function benchKernels(): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const tfInfo = await initTf();
  const threads = tfInfo.multithread ? `${tfInfo.threads} threads` : `${tfInfo.threads} thread`;
  log(
    `gradwire kernel: ${GRADWIRE_KERNEL}; TF.js ${tf.version_core} backend: ${tfInfo.backend} (simd ${tfInfo.simd}, multithread ${tfInfo.multithread}, ${threads})`,
  );
  log(
    `${REPS} repetitions, interleaved; GEMM ≥ ${GEMM_SECONDS} s per repetition; training ${STEPS} steps of ${BATCH} per repetition`,
  );

  const results: Measurement[] = [];
  for (const [i, [M, K, N]] of (
    [
      [128, 784, 256],
      [128, 256, 128],
    ] as const
  ).entries()) {
    log(`GEMM ${M}×${K}·${K}×${N}`);
    results.push(benchGemm(M, K, N, 1234 + i));
  }
  const data = syntheticData(42);
  const mlpName = `${FEATURES}-${HIDDEN.join('-')}-${CLASSES}`;
  for (const [label, norm, dropout] of [
    [`MLP ${mlpName}`, 'none', 0],
    [`MLP ${mlpName} +BN +dropout 0.2`, 'batch', 0.2],
  ] as const) {
    log(`training ${label}, relu, he_normal, Adam 1e-3, batch ${BATCH}`);
    results.push(benchTraining(label, norm, dropout, data));
  }

  const rows = [
    ['kernel / backend', GRADWIRE_KERNEL, `${tfInfo.backend}${tfInfo.simd ? ' simd' : ''}, ${threads}`, ''],
    ...results.map((r) => [r.name, fmt(r.gradwire), fmt(r.tfjs), fmt(r.ratio)]),
  ];
  process.stdout.write(`\n${table(['measurement', 'gradwire', 'tfjs-wasm', 'ratio gradwire/tfjs'], rows)}\n`);
  process.stdout.write(`(medians of ${REPS} interleaved repetitions; spread min–max:\n`);
  for (const r of results) {
    const g = spread(r.reps.gradwire);
    const t = spread(r.reps.tfjs);
    process.stdout.write(`  ${r.name}: gradwire ${fmt(g.min)}–${fmt(g.max)}, tfjs ${fmt(t.min)}–${fmt(t.max)}\n`);
  }
  const seconds = (Date.now() - t0) / 1000;
  process.stdout.write(`  ${seconds.toFixed(1)} s)\n`);
  return {
    gradwire: { kernel: GRADWIRE_KERNEL },
    tfjs: { version: tf.version_core, ...tfInfo },
    reps: REPS,
    stepsPerRep: STEPS,
    batch: BATCH,
    kernelSeconds: seconds,
    results,
  };
}

main().catch((e: unknown) => {
  log(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
