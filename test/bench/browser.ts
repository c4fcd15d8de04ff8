// The browser part of `npm run bench` (BENCH_ONLY=browser): how fast a browser tab computes
// next to a Node worker (issue 18 asks for the page within 30% of Node). The same job — the
// default MLP (784-256-128-10, relu, he_normal, Adam 1e-3) on the built-in MNIST, microbatch 16,
// at batch 128 (BENCH_BROWSER_EPOCHS epochs, default 1) and batch 1024 (8× the compute per step
// for the same bytes on the wire; 4× the epochs) — behind a coordinator started through the
// real CLI, computed either by one Node worker process (`gradwire worker --threads 1`) or by one
// page at /join in a bare headless Chromium (`#threads=1`, a fresh profile each time: its dataset
// fetched, not cached). Repetitions interleaved (node, browser, browser, node, ...), medians:
// - samples/s from summary.json (training samples over the time in training steps, step 0 and
//   its warm-up included) and "steady" = batch / median step ms over steps 1..n;
// - compute ms per microbatch: the step events' computeMs (the worker's own time in its passes,
//   which it reports with its gradients) over the microbatches of a step — the kernels' speed
//   without the wire, the reduction or the optimizer, for when transfer dominates the step;
// - every run of a batch size must end with the same weightsSha256 (else the bench fails).
// The coordinator, the worker and Chromium share this machine's cores in both modes.
//
// Environment: BENCH_BROWSER_REPS (default 3), BENCH_BROWSER_EPOCHS (default 1).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { browserAvailable, CHROMIUM_ARGS, CHROMIUM_PATH } from '../helpers/browser.js';
import { type Proc, start, stepEvents, waitForPort } from './procs.js';
import { envNum, fmt, log, median, spread, table } from './stats.js';

type Mode = 'node' | 'browser';
const MICROBATCH = 16;
/** a token, so that the page's link joins by itself (on loopback the coordinator needs none) */
const TOKEN = 'bench-browser-token-0123456789abcdef0123456789abcdef';

export interface BrowserRun {
  mode: Mode;
  samplesPerSecond: number;
  steadySamplesPerSecond: number;
  stepMs: number;
  /** the worker's compute time per microbatch (median over steps 1..n) */
  computeMsPerMicrobatch: number;
  weightsSha256: string;
}

export interface BrowserCell {
  mode: Mode;
  samplesPerSecond: number;
  steadySamplesPerSecond: number;
  stepMs: number;
  computeMsPerMicrobatch: number;
  reps: BrowserRun[];
}

export interface BrowserSetting {
  batchSize: number;
  epochs: number;
  cells: BrowserCell[];
  /** browser / node, medians */
  ratio: { samplesPerSecond: number; steady: number; computePerMicrobatch: number };
}

export interface BrowserBench {
  reps: number;
  /** chromium --version */
  browser: string;
  settings: BrowserSetting[];
}

/** A bare headless Chromium on `url` (a fresh profile), not driven by Playwright: Playwright
 *  reports every WebSocket frame's payload over the DevTools protocol, which here slowed a
 *  940 KB message from ~8 ms to ~140 ms each way (measured with a plain echo page). */
function chromiumAt(url: string, profile: string): ChildProcess {
  return spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, `--user-data-dir=${profile}`, url], { stdio: 'ignore' });
}

async function runOnce(dir: string, batchSize: number, mode: Mode, tag: string): Promise<BrowserRun> {
  const config = join(dir, `run-${batchSize}.json`);
  const out = join(dir, tag);
  const token = ['--token-file', join(dir, 'token')];
  const coord = start([
    'coordinator',
    '--config',
    config,
    '--listen',
    '127.0.0.1:0',
    ...token,
    '--min-workers',
    '1',
    '--out',
    out,
    '--no-export',
    '--log-format',
    'json',
    '--log-level',
    'debug',
  ]);
  const port = await waitForPort(coord);
  let worker: Proc | null = null;
  let chromium: ChildProcess | null = null;
  try {
    if (mode === 'node')
      worker = start([
        'worker',
        '--connect',
        `ws://127.0.0.1:${port}`,
        ...token,
        '--threads',
        '1',
        '--name',
        'bench-node',
        '--log-format',
        'json',
      ]);
    // a link with the token joins by itself
    else chromium = chromiumAt(`http://127.0.0.1:${port}/join#token=${TOKEN}&threads=1`, join(dir, `profile-${tag}`));
    const code = await coord.exited;
    const wcode = worker ? await worker.exited : 0;
    if (code !== 0 || wcode !== 0)
      throw new Error(
        `${mode}: coordinator exited with ${code}, worker with ${wcode}:\n${coord.stderr.slice(-2000)}${coord.stdout.slice(-2000)}`,
      );
  } finally {
    worker?.child.kill('SIGKILL');
    if (chromium && chromium.exitCode === null) {
      const gone = new Promise((r) => chromium!.once('exit', r));
      chromium.kill('SIGTERM');
      await gone;
    }
  }
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
    samplesPerSecond: number;
    steps: number;
    weightsSha256: string;
  };
  rmSync(out, { recursive: true, force: true });
  const steady = stepEvents(coord.stdout).filter((e) => e.step > 0);
  const stepMs = median(steady.map((e) => e.ms));
  return {
    mode,
    samplesPerSecond: summary.samplesPerSecond,
    steadySamplesPerSecond: (batchSize / stepMs) * 1000,
    stepMs,
    computeMsPerMicrobatch: median(steady.map((e) => e.computeMs ?? NaN)) / (batchSize / MICROBATCH),
    weightsSha256: summary.weightsSha256,
  };
}

export async function runBrowserBench(): Promise<BrowserBench | null> {
  const why = browserAvailable();
  if (why !== null) {
    log(`browser part skipped: ${why}`);
    return null;
  }
  const reps = Math.round(envNum('BENCH_BROWSER_REPS', 3));
  const epochs = Math.round(envNum('BENCH_BROWSER_EPOCHS', 1));
  // batch 128: the default run, a step's wire bytes weigh; batch 1024: 8× the compute per step
  // for the same bytes (4× the epochs, for a comparable number of steps)
  const settings = [
    { batchSize: 128, epochs },
    { batchSize: 1024, epochs: epochs * 4 },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'gradwire-bench-browser-'));
  for (const s of settings)
    writeFileSync(
      join(dir, `run-${s.batchSize}.json`),
      JSON.stringify({ batchSize: s.batchSize, microbatch: MICROBATCH, epochs: s.epochs }),
    );
  writeFileSync(join(dir, 'token'), TOKEN);
  const version = spawnSync(CHROMIUM_PATH, ['--version'], { encoding: 'utf8' }).stdout.trim();
  try {
    log(`browser: ${version}; ${reps} repetitions per mode and batch size`);
    const out: BrowserSetting[] = [];
    for (const setting of settings) {
      const runs: BrowserRun[] = [];
      for (let r = 0; r < reps; r++) {
        const order: Mode[] = r % 2 === 0 ? ['node', 'browser'] : ['browser', 'node'];
        for (const mode of order) {
          const run = await runOnce(dir, setting.batchSize, mode, `${mode}-${setting.batchSize}-${r}`);
          log(
            `  batch ${setting.batchSize} rep ${r + 1} ${mode}: ${fmt(run.samplesPerSecond)} samples/s, steady ${fmt(run.steadySamplesPerSecond)}, compute ${fmt(run.computeMsPerMicrobatch)} ms/microbatch`,
          );
          runs.push(run);
        }
      }
      const shas = new Set(runs.map((r) => r.weightsSha256));
      if (shas.size !== 1)
        throw new Error(`the browser and Node runs ended with different weights: ${[...shas].join(', ')}`);
      const cells = (['node', 'browser'] as const).map((mode): BrowserCell => {
        const of = runs.filter((r) => r.mode === mode);
        const med = (f: (r: BrowserRun) => number): number => median(of.map(f));
        return {
          mode,
          samplesPerSecond: med((r) => r.samplesPerSecond),
          steadySamplesPerSecond: med((r) => r.steadySamplesPerSecond),
          stepMs: med((r) => r.stepMs),
          computeMsPerMicrobatch: med((r) => r.computeMsPerMicrobatch),
          reps: of,
        };
      });
      const [node, page] = cells as [BrowserCell, BrowserCell];
      out.push({
        ...setting,
        cells,
        ratio: {
          samplesPerSecond: page.samplesPerSecond / node.samplesPerSecond,
          steady: page.steadySamplesPerSecond / node.steadySamplesPerSecond,
          computePerMicrobatch: node.computeMsPerMicrobatch / page.computeMsPerMicrobatch,
        },
      });
    }
    return { reps, browser: version, settings: out };
  } finally {
    // Chromium's helper processes may still be writing its profile for a moment
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}

export function printBrowser(b: BrowserBench | null): void {
  if (!b) return;
  const rows: string[][] = [];
  for (const st of b.settings) {
    for (const c of st.cells) {
      const sp = spread(c.reps.map((r) => r.samplesPerSecond));
      rows.push([
        `batch ${st.batchSize}, ${st.epochs} ep`,
        c.mode === 'node' ? 'Node worker, 1 thread' : 'Chromium page, 1 thread',
        fmt(c.samplesPerSecond),
        `${fmt(sp.min)}–${fmt(sp.max)}`,
        fmt(c.steadySamplesPerSecond),
        fmt(c.stepMs),
        fmt(c.computeMsPerMicrobatch),
      ]);
    }
    rows.push([
      '',
      'page / Node',
      fmt(st.ratio.samplesPerSecond),
      '',
      fmt(st.ratio.steady),
      '',
      `${fmt(st.ratio.computePerMicrobatch)} (speed)`,
    ]);
  }
  process.stdout.write(
    `\nBrowser worker vs Node worker: MNIST 784-256-128-10, microbatch ${MICROBATCH}, medians of ${b.reps} interleaved ` +
      `repetitions, the same weightsSha256 in both modes (${b.browser})\n`,
  );
  process.stdout.write(
    `${table(['setting', 'worker', 'samples/s', 'min–max', 'steady samples/s', 'step ms', 'compute ms/microbatch'], rows)}\n`,
  );
}
