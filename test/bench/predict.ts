// The predict part (`BENCH_ONLY=predict`): samples/s of gradwire predict's pipeline in-process
// (read IDX by byte ranges, ÷255, eval forward pass of the default MLP 784-256-128-10, softmax,
// the output CSV formatted into bytes and handed to a writer that drops them) on the built-in
// 10,000 digits (1×) and the same digits 10 times over (10×, 100,000 rows): the default (the
// threads `gradwire predict` takes here: with ≥ 2, a helper thread computes the first layer of
// inputs of ≥ THREAD_MIN_ROWS rows), then one thread with the first layer by density (auto:
// sparse for these rows) and always dense, side by side. Each run is a fresh process that
// reports its own peak resident memory (VmHWM; see peakRssMB). Memory should be flat: 10×
// within ±20% of 1×. BENCH_PREDICT_REPS (default 3) repetitions of the runs, interleaved;
// medians printed. The model is the default run's, initialised and
// untrained (the speed depends on the inputs' sparsity, not on the weights).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FirstLayerPath } from '../../coordinator/model/forward.js';
import { FirstLayerThread } from '../../coordinator/model/first-layer-thread.js';
import { openInput } from '../../coordinator/model/input.js';
import { loadModel } from '../../coordinator/model/model.js';
import { predictRows } from '../../coordinator/model/predict.js';
import { resolveModel } from '../../coordinator/model/resolve.js';
import { threadsFromText } from '../../shared/node/cpus.js';
import { digitsIdx, digitsRun } from '../helpers/digits.js';
import { envNum, log, median, spread, table } from './stats.js';

export interface PredictBench {
  sizes: Array<{
    rows: number;
    path: FirstLayerPath;
    /** predict's threads: the default (GRADWIRE_THREADS or the CPUs: a helper thread for the
     *  first layer when ≥ 2) or 1 */
    threads: number;
    /** rows whose first layer the helper thread computed (first run) */
    threadRows: number;
    samplesPerSecond: number;
    /** samples per CPU second */
    samplesPerCpuSecond: number;
    peakRssMB: number;
    /** rows whose first layer ran sparse */
    sparseRows: number;
    reps: Array<{ sps: number; rssMB: number; cpu: number }>;
  }>;
  /** peak RSS 10× / 1× (the default) */
  rssRatio: number;
  /** samples/s auto / dense at 1× and 10×, both on one thread */
  sparseSpeedup: [number, number];
  /** samples/s the default (threads) / one thread, auto path, at 1× and 10× */
  threadSpeedup: [number, number];
  /** the default's thread count */
  threads: number;
}

interface ChildResult {
  rows: number;
  seconds: number;
  /** CPU time of the process over the same span (all its threads): less sensitive to a loaded
   *  machine than the wall time, which waits for a core */
  cpuSeconds: number;
  rssMB: number;
  sparseRows: number;
  threadRows: number;
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
async function child(dir: string, input: string, path: FirstLayerPath, threads: number): Promise<void> {
  // as `gradwire predict` does: a helper thread, started when the input is large enough
  const thread = threads > 1 ? () => FirstLayerThread.start() : null;
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
    { path, thread },
  );
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpuSeconds = (c.user + c.system) / 1e6;
  process.stdout.write(
    `${JSON.stringify({ rows: r.rows, seconds, cpuSeconds, rssMB: peakRssMB(), bytes, sparseRows: r.sparseRows, threadRows: r.threadRows, cpu: lastCpu() })}\n`,
  );
}

export async function runPredictBench(): Promise<PredictBench> {
  const reps = Math.round(envNum('BENCH_PREDICT_REPS', 3));
  const dir = mkdtempSync(join(tmpdir(), 'gradwire-bench-predict-'));
  try {
    const { run, data, pixels } = digitsRun(dir);
    const files = [1, 10].map((times) => {
      const file = join(dir, `digits-${times}x.idx`);
      writeFileSync(file, digitsIdx(pixels, times));
      return { times, file, results: [] as ChildResult[] };
    });
    // the default (the threads `gradwire predict` takes here), then one thread: auto and dense
    const threads = threadsFromText('GRADWIRE_THREADS', process.env.GRADWIRE_THREADS || undefined);
    const kinds = [
      { path: 'auto' as const, threads },
      ...(threads > 1 ? [{ path: 'auto' as const, threads: 1 }] : []),
      { path: 'dense' as const, threads: 1 },
    ];
    const runs = files.flatMap((f) => kinds.map((k) => ({ ...f, ...k, results: [] as ChildResult[] })));
    for (let rep = 0; rep < reps; rep++) {
      for (const f of runs) {
        log(
          `predict: ${f.times}× (${(data.n * f.times).toLocaleString('en-US')} rows), first layer ${f.path}, ${f.threads} thread${f.threads > 1 ? 's' : ''}, repetition ${rep + 1}/${reps}`,
        );
        const r = spawnSync(
          process.execPath,
          ['--import', 'tsx', import.meta.filename, 'child', run, f.file, f.path, String(f.threads)],
          { encoding: 'utf8' },
        );
        if (r.status !== 0) throw new Error(`predict bench child failed: ${r.stderr}`);
        f.results.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult);
      }
    }
    const sizes = runs.map((f) => ({
      rows: f.results[0]!.rows,
      path: f.path,
      threads: f.threads,
      threadRows: f.results[0]!.threadRows,
      samplesPerSecond: median(f.results.map((r) => r.rows / r.seconds)),
      samplesPerCpuSecond: median(f.results.map((r) => r.rows / r.cpuSeconds)),
      peakRssMB: median(f.results.map((r) => r.rssMB)),
      sparseRows: f.results[0]!.sparseRows,
      reps: f.results.map((r) => ({ sps: r.rows / r.seconds, rssMB: r.rssMB, cpu: r.cpu })),
    }));
    const find = (rows: number, path: FirstLayerPath, t: number): PredictSize =>
      sizes.find((x) => x.rows === rows && x.path === path && x.threads === t)!;
    const [n1, n10] = [data.n, data.n * 10];
    const ratio = (rows: number, a: [FirstLayerPath, number], b: [FirstLayerPath, number]): number =>
      find(rows, ...a).samplesPerSecond / find(rows, ...b).samplesPerSecond;
    return {
      sizes,
      threads,
      rssRatio: find(n10, 'auto', threads).peakRssMB / find(n1, 'auto', threads).peakRssMB,
      sparseSpeedup: [ratio(n1, ['auto', 1], ['dense', 1]), ratio(n10, ['auto', 1], ['dense', 1])],
      threadSpeedup: [ratio(n1, ['auto', threads], ['auto', 1]), ratio(n10, ['auto', threads], ['auto', 1])],
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
      s.threads > 1 ? `${s.threads} (${Math.round((s.threadRows / s.rows) * 100)}% of rows)` : '1',
      `${Math.round(s.samplesPerSecond).toLocaleString('en-US')} (${Math.round(sp.min / 1000)}k–${Math.round(sp.max / 1000)}k)`,
      Math.round(s.samplesPerCpuSecond).toLocaleString('en-US'),
      `${s.peakRssMB.toFixed(1)} (${rss.min.toFixed(1)}–${rss.max.toFixed(1)})`,
      s.reps.map((r) => `${Math.round(r.sps / 1000)}k@${r.cpu}`).join(' '),
    ];
  });
  process.stdout.write(
    `\npredict, in-process, IDX input, 784-256-128-10, CSV output formatted (medians, min–max; each run its own process)\n${table(['rows', 'first layer', 'threads (helper)', 'samples/s', 'per CPU s', 'peak RSS MB', 'each run: samples/s@CPU'], rows)}\n` +
      `sparse first layer (auto) / dense, one thread, samples/s: ${b.sparseSpeedup.map((x) => `${x.toFixed(2)}×`).join(' at 1×, ')} at 10×\n` +
      (b.threads > 1
        ? `${b.threads} threads (the default here) / one, auto, samples/s: ${b.threadSpeedup.map((x) => `${x.toFixed(2)}×`).join(' at 1×, ')} at 10×\n`
        : '') +
      `peak RSS 10× / 1× (the default): ${b.rssRatio.toFixed(3)} (flat: within 0.8–1.2)\n`,
  );
}

if (process.argv[2] === 'child') {
  child(
    process.argv[3]!,
    process.argv[4]!,
    (process.argv[5] ?? 'auto') as FirstLayerPath,
    Number(process.argv[6] ?? 1),
  ).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  });
}
