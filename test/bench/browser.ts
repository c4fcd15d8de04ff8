// The browser part of `npm run bench` (BENCH_ONLY=browser): how fast a browser tab computes
// next to a Node worker (issue 18 asks for the page within 30% of Node). The same job — the
// default MLP (784-256-128-10, relu, he_normal, Adam 1e-3) on the built-in MNIST, batch 128,
// microbatch 16, BENCH_BROWSER_EPOCHS epochs (default 1) — behind a coordinator started through
// the real CLI, computed either by one Node worker process (`gradwire worker --threads 1`) or by
// one page at /join in headless Chromium (one compute thread, a fresh browser context each
// time: its dataset fetched, not cached). Repetitions interleaved (node, browser, browser,
// node, ...), medians reported:
// - samples/s from summary.json (training samples over the time in training steps, step 0 and
//   its warm-up included) and "steady" = batch / median step ms over steps 1..n;
// - compute ms per microbatch: the step events' computeMs (the worker's own time in its passes,
//   which it reports with its gradients) over the 8 microbatches of a step — the kernels' speed
//   without the wire, the reduction or the optimizer, in case transfer dominates the step;
// - both runs' weightsSha256 must be equal (else the bench fails).
// The coordinator, the worker and Chromium share this machine's cores in both modes.
//
// Environment: BENCH_BROWSER_REPS (default 3), BENCH_BROWSER_EPOCHS (default 1).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { browserAvailable, launchBrowser } from '../helpers/browser.js';
import { type Proc, start, stepEvents, waitForPort } from './procs.js';
import { envNum, fmt, log, median, spread, table } from './stats.js';

type Mode = 'node' | 'browser';
const BATCH = 128;
const MICROBATCH = 16;

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

export interface BrowserBench {
  epochs: number;
  reps: number;
  userAgent: string;
  cells: BrowserCell[];
  /** browser / node, medians */
  ratio: { samplesPerSecond: number; steady: number; computePerMicrobatch: number };
}

async function runOnce(browser: Browser, dir: string, config: string, mode: Mode, tag: string): Promise<BrowserRun> {
  const out = join(dir, tag);
  const coord = start([
    'coordinator',
    '--config',
    config,
    '--listen',
    '127.0.0.1:0',
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
  const context = mode === 'browser' ? await browser.newContext() : null;
  try {
    if (mode === 'node') {
      worker = start([
        'worker',
        '--connect',
        `ws://127.0.0.1:${port}`,
        '--threads',
        '1',
        '--name',
        'bench-node',
        '--log-format',
        'json',
      ]);
    } else {
      const page = await context!.newPage();
      await page.goto(`http://127.0.0.1:${port}/join#threads=1`);
      await joinPage(page);
    }
    const code = await coord.exited;
    const wcode = worker ? await worker.exited : 0;
    if (code !== 0 || wcode !== 0)
      throw new Error(
        `${mode}: coordinator exited with ${code}, worker with ${wcode}:\n${coord.stderr.slice(-2000)}${coord.stdout.slice(-2000)}`,
      );
  } finally {
    await context?.close();
    worker?.child.kill('SIGKILL');
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
    steadySamplesPerSecond: (BATCH / stepMs) * 1000,
    stepMs,
    computeMsPerMicrobatch: median(steady.map((e) => e.computeMs ?? NaN)) / (BATCH / MICROBATCH),
    weightsSha256: summary.weightsSha256,
  };
}

/** The page joins by itself when its URL has what it needs; otherwise press Join. Then wait
 *  until it is connected. */
async function joinPage(page: import('playwright-core').Page): Promise<void> {
  const status = async (): Promise<string> => (await page.locator('#status').textContent()) ?? '';
  const t0 = Date.now();
  while (!/^(connected|computing|idle)/.test(await status())) {
    if (/^refused/.test(await status()))
      throw new Error(`the page was refused: ${await page.locator('#reason').textContent()}`);
    if (Date.now() - t0 > 1000 && (await page.locator('#join').isEnabled())) await page.locator('#join').click();
    if (Date.now() - t0 > 60_000) throw new Error(`the page did not connect: status "${await status()}"`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runBrowserBench(): Promise<BrowserBench | null> {
  const why = browserAvailable();
  if (why !== null) {
    log(`browser part skipped: ${why}`);
    return null;
  }
  const reps = Math.round(envNum('BENCH_BROWSER_REPS', 3));
  const epochs = Math.round(envNum('BENCH_BROWSER_EPOCHS', 1));
  const dir = mkdtempSync(join(tmpdir(), 'gradwire-bench-browser-'));
  const config = join(dir, 'run.json');
  writeFileSync(config, JSON.stringify({ batchSize: BATCH, microbatch: MICROBATCH, epochs }));
  const browser = await launchBrowser();
  try {
    const userAgent = await (await browser.newPage()).evaluate(() => navigator.userAgent);
    log(`browser: ${browser.version()} (${userAgent}); ${reps} repetitions of ${epochs} epoch(s) per mode`);
    const runs: BrowserRun[] = [];
    for (let r = 0; r < reps; r++) {
      const order: Mode[] = r % 2 === 0 ? ['node', 'browser'] : ['browser', 'node'];
      for (const mode of order) {
        const run = await runOnce(browser, dir, config, mode, `${mode}-${r}`);
        log(
          `  rep ${r + 1} ${mode}: ${fmt(run.samplesPerSecond)} samples/s, steady ${fmt(run.steadySamplesPerSecond)}, compute ${fmt(run.computeMsPerMicrobatch)} ms/microbatch`,
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
    return {
      epochs,
      reps,
      userAgent,
      cells,
      ratio: {
        samplesPerSecond: page.samplesPerSecond / node.samplesPerSecond,
        steady: page.steadySamplesPerSecond / node.steadySamplesPerSecond,
        computePerMicrobatch: node.computeMsPerMicrobatch / page.computeMsPerMicrobatch,
      },
    };
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printBrowser(b: BrowserBench | null): void {
  if (!b) return;
  const rows = b.cells.map((c) => {
    const s = spread(c.reps.map((r) => r.samplesPerSecond));
    return [
      c.mode === 'node' ? 'Node worker, 1 thread' : 'Chromium page, 1 thread',
      fmt(c.samplesPerSecond),
      `${fmt(s.min)}–${fmt(s.max)}`,
      fmt(c.steadySamplesPerSecond),
      fmt(c.stepMs),
      fmt(c.computeMsPerMicrobatch),
    ];
  });
  rows.push([
    'page / Node',
    fmt(b.ratio.samplesPerSecond),
    '',
    fmt(b.ratio.steady),
    '',
    `${fmt(b.ratio.computePerMicrobatch)} (speed)`,
  ]);
  process.stdout.write(
    `\nBrowser worker vs Node worker: MNIST 784-256-128-10, batch ${BATCH}, microbatch ${MICROBATCH}, ${b.epochs} epoch(s), ` +
      `medians of ${b.reps} interleaved repetitions, same weightsSha256\n`,
  );
  process.stdout.write(
    `${table(['worker', 'samples/s', 'min–max', 'steady samples/s', 'step ms', 'compute ms/microbatch'], rows)}\n`,
  );
}
