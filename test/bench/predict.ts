// The predict part (`BENCH_ONLY=predict`): samples/s of gradwire predict's pipeline in-process
// (read IDX by byte ranges, ÷255, eval forward pass of the default MLP 784-256-128-10, softmax,
// the output CSV formatted into bytes and handed to a writer that drops them) on the built-in
// 10,000 digits (1×) and the same digits 10 times over (10×, 100,000 rows), with the first
// layer by density (auto: sparse for these rows) and always dense, side by side. Each run is a
// fresh process that reports its own peak resident memory (VmHWM; see peakRssMB). Memory
// should be flat: 10× within ±20% of 1×. BENCH_PREDICT_REPS (default 3) repetitions of the
// four runs, interleaved; medians printed. The model is the default run's, initialised and
// untrained (the speed depends on the inputs' sparsity, not on the weights).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCheckpoint } from '../../shared/checkpoint.js';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import { Trainer } from '../../shared/engine/trainer.js';
import type { FirstLayerPath } from '../../coordinator/model/forward.js';
import { openInput } from '../../coordinator/model/input.js';
import { loadModel } from '../../coordinator/model/model.js';
import { predictRows } from '../../coordinator/model/predict.js';
import { resolveModel } from '../../coordinator/model/resolve.js';
import { loadMnist } from '../../coordinator/run/datasets.js';
import { envNum, log, median, spread, table } from './stats.js';

export interface PredictBench {
  sizes: Array<{
    rows: number;
    path: FirstLayerPath;
    samplesPerSecond: number;
    /** samples per CPU second */
    samplesPerCpuSecond: number;
    peakRssMB: number;
    /** rows whose first layer ran sparse */
    sparseRows: number;
    reps: Array<{ sps: number; rssMB: number; cpu: number }>;
  }>;
  /** peak RSS 10× / 1× (auto path) */
  rssRatio: number;
  /** samples/s auto / dense at 1× and 10× */
  sparseSpeedup: [number, number];
}

interface ChildResult {
  rows: number;
  seconds: number;
  /** CPU time of the process over the same span (all its threads): less sensitive to a loaded
   *  machine than the wall time, which waits for a core */
  cpuSeconds: number;
  rssMB: number;
  sparseRows: number;
  /** the CPU the process last ran on (/proc/self/stat): this VM's two vCPUs differ by ~30% */
  cpu: number;
}

/** the CPU this process last ran on (field 39 of /proc/self/stat), or -1 */
function lastCpu(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // the fields after the command name (in parentheses, which may hold spaces): state is field 3
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[39 - 3]);
  } catch {
    return -1;
  }
}

/** This process's own peak resident memory in MB: VmHWM, the high-water mark of its address
 *  space. (getrusage's maxRSS is not it: Linux carries the forked parent's peak across execve
 *  into the child's maxRSS, so every child reported the bench's own ~240 MB.) */
function peakRssMB(): number {
  const m = /^VmHWM:\s*(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m ? m[1] : process.resourceUsage().maxRSS) / 1024;
}

/** the child: predict INPUT with the model in DIR (first layer by PATH), print its result */
async function child(dir: string, input: string, path: FirstLayerPath): Promise<void> {
  const m = loadModel(resolveModel(dir, { cwd: dir, env: {} }), dir);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let bytes = 0;
  const r = await predictRows(
    m,
    openInput(m, input, null),
    (s) => {
      bytes += s.length;
    },
    'csv',
    undefined,
    path,
  );
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpuSeconds = (c.user + c.system) / 1e6;
  process.stdout.write(
    `${JSON.stringify({ rows: r.rows, seconds, cpuSeconds, rssMB: peakRssMB(), bytes, sparseRows: r.sparseRows, cpu: lastCpu() })}\n`,
  );
}

function idx(images: Uint8Array, n: number): Buffer {
  const h = Buffer.alloc(16);
  h[2] = 0x08;
  h[3] = 3;
  h.writeUInt32BE(n, 4);
  h.writeUInt32BE(28, 8);
  h.writeUInt32BE(28, 12);
  return Buffer.concat([h, images]);
}

export async function runPredictBench(): Promise<PredictBench> {
  const reps = Math.round(envNum('BENCH_PREDICT_REPS', 3));
  const dir = mkdtempSync(join(tmpdir(), 'gradwire-bench-predict-'));
  try {
    const data = loadMnist();
    const cfg = { ...DEFAULT_RUN_CONFIG, data: { ...DEFAULT_RUN_CONFIG.data, name: 'mnist' as const } };
    const trainer = new Trainer(cfg, data);
    const run = join(dir, 'run');
    mkdirSync(run);
    writeFileSync(join(run, 'checkpoint.gwc'), encodeCheckpoint(cfg, trainer.state()));
    writeFileSync(join(run, 'config.json'), JSON.stringify(cfg));
    const pixels = new Uint8Array(data.n * data.features);
    for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round(data.x[i]! * 255);
    const files = [1, 10].map((times) => {
      const file = join(dir, `digits-${times}x.idx`);
      const all = new Uint8Array(pixels.length * times);
      for (let t = 0; t < times; t++) all.set(pixels, t * pixels.length);
      writeFileSync(file, idx(all, data.n * times));
      return { times, file, results: [] as ChildResult[] };
    });
    const runs = files.flatMap((f) =>
      (['auto', 'dense'] as const).map((path) => ({ ...f, path, results: [] as ChildResult[] })),
    );
    for (let rep = 0; rep < reps; rep++) {
      for (const f of runs) {
        log(
          `predict: ${f.times}× (${(data.n * f.times).toLocaleString('en-US')} rows), first layer ${f.path}, repetition ${rep + 1}/${reps}`,
        );
        const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, 'child', run, f.file, f.path], {
          encoding: 'utf8',
        });
        if (r.status !== 0) throw new Error(`predict bench child failed: ${r.stderr}`);
        f.results.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult);
      }
    }
    const sizes = runs.map((f) => ({
      rows: f.results[0]!.rows,
      path: f.path,
      samplesPerSecond: median(f.results.map((r) => r.rows / r.seconds)),
      samplesPerCpuSecond: median(f.results.map((r) => r.rows / r.cpuSeconds)),
      peakRssMB: median(f.results.map((r) => r.rssMB)),
      sparseRows: f.results[0]!.sparseRows,
      reps: f.results.map((r) => ({ sps: r.rows / r.seconds, rssMB: r.rssMB, cpu: r.cpu })),
    }));
    const [auto1, dense1, auto10, dense10] = sizes as [PredictSize, PredictSize, PredictSize, PredictSize];
    return {
      sizes,
      rssRatio: auto10.peakRssMB / auto1.peakRssMB,
      sparseSpeedup: [
        auto1.samplesPerSecond / dense1.samplesPerSecond,
        auto10.samplesPerSecond / dense10.samplesPerSecond,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type PredictSize = PredictBench['sizes'][number];

export function printPredict(b: PredictBench): void {
  const rows = b.sizes.map((s) => {
    const sp = spread(s.reps.map((r) => r.sps));
    const rss = spread(s.reps.map((r) => r.rssMB));
    return [
      s.rows.toLocaleString('en-US'),
      s.path === 'auto' ? `auto (${Math.round((s.sparseRows / s.rows) * 100)}% sparse)` : 'dense',
      `${Math.round(s.samplesPerSecond).toLocaleString('en-US')} (${Math.round(sp.min / 1000)}k–${Math.round(sp.max / 1000)}k)`,
      Math.round(s.samplesPerCpuSecond).toLocaleString('en-US'),
      `${s.peakRssMB.toFixed(1)} (${rss.min.toFixed(1)}–${rss.max.toFixed(1)})`,
      s.reps.map((r) => `${Math.round(r.sps / 1000)}k@${r.cpu}`).join(' '),
    ];
  });
  process.stdout.write(
    `\npredict, in-process, IDX input, 784-256-128-10, CSV output formatted (medians, min–max; each run its own process)\n${table(['rows', 'first layer', 'samples/s', 'per CPU s', 'peak RSS MB', 'each run: samples/s@CPU'], rows)}\n` +
      `sparse first layer (auto) / dense, samples/s: ${b.sparseSpeedup.map((x) => `${x.toFixed(2)}×`).join(' at 1×, ')} at 10×\n` +
      `peak RSS 10× / 1× (auto): ${b.rssRatio.toFixed(3)} (flat: within 0.8–1.2)\n`,
  );
}

if (process.argv[2] === 'child') {
  child(process.argv[3]!, process.argv[4]!, (process.argv[5] ?? 'auto') as FirstLayerPath).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  });
}
