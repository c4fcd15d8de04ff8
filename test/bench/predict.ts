// The predict part (`BENCH_ONLY=predict`): samples/s of gradwire predict's pipeline in-process
// (read IDX by byte ranges, ÷255, eval forward pass of the default MLP 784-256-128-10, softmax,
// the output CSV formatted and handed to a writer that drops it) on the built-in 10,000 digits
// (1×) and the same digits 10 times over (10×, 100,000 rows), each in a fresh process so that
// its peak resident memory (maxRSS) is its own. Memory should be flat: 10× within ±20% of 1×.
// BENCH_PREDICT_REPS (default 3) repetitions of each size, interleaved; medians printed.
// The model is the default run's, initialised and untrained (the speed does not depend on
// the weights).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCheckpoint } from '../../shared/checkpoint.js';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import { Trainer } from '../../shared/engine/trainer.js';
import { openInput } from '../../coordinator/model/input.js';
import { loadModel } from '../../coordinator/model/model.js';
import { predictRows } from '../../coordinator/model/predict.js';
import { resolveModel } from '../../coordinator/model/resolve.js';
import { loadMnist } from '../../coordinator/run/datasets.js';
import { envNum, log, median, spread, table } from './stats.js';

export interface PredictBench {
  sizes: Array<{
    rows: number;
    samplesPerSecond: number;
    peakRssMB: number;
    reps: Array<{ sps: number; rssMB: number }>;
  }>;
  rssRatio: number;
}

interface ChildResult {
  rows: number;
  seconds: number;
  rssMB: number;
}

/** the child: predict INPUT with the model in DIR, print {rows, seconds, rssMB} */
async function child(dir: string, input: string): Promise<void> {
  const m = loadModel(resolveModel(dir, { cwd: dir, env: {} }), dir);
  const t0 = performance.now();
  let bytes = 0;
  const r = await predictRows(
    m,
    openInput(m, input, null),
    (s) => {
      bytes += s.length;
    },
    'csv',
  );
  const seconds = (performance.now() - t0) / 1000;
  const rssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ rows: r.rows, seconds, rssMB, bytes })}\n`);
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
    for (let rep = 0; rep < reps; rep++) {
      for (const f of files) {
        log(`predict: ${f.times}× (${(data.n * f.times).toLocaleString('en-US')} rows), repetition ${rep + 1}/${reps}`);
        const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, 'child', run, f.file], {
          encoding: 'utf8',
        });
        if (r.status !== 0) throw new Error(`predict bench child failed: ${r.stderr}`);
        f.results.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult);
      }
    }
    const sizes = files.map((f) => ({
      rows: f.results[0]!.rows,
      samplesPerSecond: median(f.results.map((r) => r.rows / r.seconds)),
      peakRssMB: median(f.results.map((r) => r.rssMB)),
      reps: f.results.map((r) => ({ sps: r.rows / r.seconds, rssMB: r.rssMB })),
    }));
    return { sizes, rssRatio: sizes[1]!.peakRssMB / sizes[0]!.peakRssMB };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printPredict(b: PredictBench): void {
  const rows = b.sizes.map((s) => {
    const sp = spread(s.reps.map((r) => r.sps));
    const rss = spread(s.reps.map((r) => r.rssMB));
    return [
      s.rows.toLocaleString('en-US'),
      `${Math.round(s.samplesPerSecond).toLocaleString('en-US')} (${Math.round(sp.min / 1000)}k–${Math.round(sp.max / 1000)}k)`,
      `${s.peakRssMB.toFixed(1)} (${rss.min.toFixed(1)}–${rss.max.toFixed(1)})`,
    ];
  });
  process.stdout.write(
    `\npredict, in-process, IDX input, 784-256-128-10, CSV output formatted (medians, min–max)\n${table(['rows', 'samples/s', 'peak RSS MB'], rows)}\n` +
      `peak RSS 10× / 1×: ${b.rssRatio.toFixed(3)} (flat: within 0.8–1.2)\n`,
  );
}

if (process.argv[2] === 'child') {
  child(process.argv[3]!, process.argv[4]!).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  });
}
