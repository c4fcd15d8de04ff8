// Scratch micro-benchmark of the kernel variants: GFLOP/s of the three dense products (forward,
// dx, weight gradients) for the default MLP's shapes, wasm-simd against js and (forward only)
// TF.js's wasm matMul measured as test/bench/bench.ts does, interleaved repetitions, medians;
// plus the per-call overhead of a tiny call.
//   npx tsx test/bench/kernels-micro.ts            (BENCH_REPS, BENCH_GEMM_SECONDS as bench.ts)
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createJsKernels } from '../../shared/kernels/js.js';
import type { Kernels } from '../../shared/kernels/kernels.js';
import { createWasmKernels } from '../../shared/kernels/wasm.js';
import '../../shared/node/kernels-wasm.js';
import { envNum, fmt, interleave, log, median, seededRandom, timeRep, type Contender } from './stats.js';

const REPS = Math.round(envNum('BENCH_REPS', 5));
const SECONDS = envNum('BENCH_GEMM_SECONDS', 0.3);

interface Shape {
  rows: number;
  n: number;
  m: number;
}
const SHAPES: Shape[] = [
  { rows: 128, n: 784, m: 256 },
  { rows: 128, n: 256, m: 128 },
  { rows: 16, n: 784, m: 256 },
  { rows: 16, n: 256, m: 128 },
];

function filled(k: Kernels, count: number, rand: () => number): Float32Array {
  const a = k.alloc(count);
  for (let i = 0; i < count; i++) a[i] = rand() * 2 - 1;
  return a;
}

function products(k: Kernels, s: Shape, seed: number): Record<string, () => void> {
  const rand = seededRandom(seed);
  const x = filled(k, s.rows * s.n, rand);
  const W = filled(k, s.m * s.n, rand);
  const b = filled(k, s.m, rand);
  const y = k.alloc(s.rows * s.m);
  const dy = filled(k, s.rows * s.m, rand);
  const dx = k.alloc(s.rows * s.n);
  const gW = k.alloc(s.m * s.n);
  const gb = k.alloc(s.m);
  return {
    forward: () => k.denseForward(x, W, b, y, s.rows, s.n, s.m),
    dx: () => k.denseDx(dy, W, dx, s.rows, s.n, s.m),
    grads: () => k.denseGrads(x, dy, gW, gb, s.rows, s.n, s.m),
  };
}

async function initTf(): Promise<void> {
  const require = createRequire(import.meta.url);
  setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('TF.js: the wasm backend failed to initialize');
  await tf.ready();
}

/** TF.js a [rows × n] · b [n × m], tensors made once, result read back (as bench.ts) */
function tfForward(s: Shape, seed: number): () => void {
  const rand = seededRandom(seed);
  const a = tf.tensor2d(
    Float32Array.from({ length: s.rows * s.n }, () => rand() * 2 - 1),
    [s.rows, s.n],
  );
  const b = tf.tensor2d(
    Float32Array.from({ length: s.n * s.m }, () => rand() * 2 - 1),
    [s.n, s.m],
  );
  return () => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
}

async function main(): Promise<void> {
  await initTf();
  const wasm = createWasmKernels();
  if (!wasm) throw new Error('WebAssembly SIMD is unavailable here');
  const js = createJsKernels();
  const rows: string[] = [];
  for (const s of SHAPES) {
    const flops = 2 * s.rows * s.n * s.m;
    const pw = products(wasm, s, 1);
    const pj = products(js, s, 1);
    for (const op of ['forward', 'dx', 'grads'] as const) {
      const rate = (fn: () => void) => (): number => {
        const { iters, seconds } = timeRep(fn, SECONDS, 2);
        return (iters * flops) / seconds / 1e9;
      };
      timeRep(pw[op]!, 0.1, 2);
      timeRep(pj[op]!, 0.1, 2);
      const contenders: Contender[] = [
        { name: 'wasm-simd', rep: rate(pw[op]!) },
        { name: 'js', rep: rate(pj[op]!) },
      ];
      if (op === 'forward') {
        const t = tfForward(s, 2);
        timeRep(t, 0.1, 5);
        contenders.push({ name: 'tfjs', rep: rate(t) });
      }
      const [w, j, t] = interleave(contenders, REPS) as [number[], number[], number[] | undefined];
      const vsTf = t ? `, tfjs ${fmt(median(t))} GFLOP/s, wasm-simd/tfjs ${fmt(median(w) / median(t))}` : '';
      const line = `${op.padEnd(8)} ${s.rows}×${s.n}→${s.m}: wasm-simd ${fmt(median(w))} GFLOP/s, js ${fmt(median(j))} GFLOP/s, ratio ${fmt(median(w) / median(j))}${vsTf}  (wasm reps ${w.map(fmt).join(' ')})`;
      log(line);
      rows.push(line);
    }
  }
  // per-call overhead: a 4-element addInto, through the Kernels interface (argument checks
  // included) and straight into the module
  const a = wasm.alloc(4),
    c = wasm.alloc(4);
  const ja = js.alloc(4),
    jc = js.alloc(4);
  const calls = 1_000_000;
  const perCall = (fn: () => void): number => {
    const { iters, seconds } = timeRep(fn, 0.3, 1);
    return (seconds / (iters * calls)) * 1e9;
  };
  const loopW = (): void => {
    for (let i = 0; i < calls; i++) wasm.addInto(a, c, 4);
  };
  const loopJ = (): void => {
    for (let i = 0; i < calls; i++) js.addInto(ja, jc, 4);
  };
  perCall(loopW);
  perCall(loopJ);
  const ow = median([perCall(loopW), perCall(loopW), perCall(loopW)]);
  const oj = median([perCall(loopJ), perCall(loopJ), perCall(loopJ)]);
  const line = `per-call: addInto(4) wasm-simd ${fmt(ow)} ns, js ${fmt(oj)} ns`;
  log(line);
  rows.push(line);
  process.stdout.write(`${rows.join('\n')}\n`);
}

await main();
