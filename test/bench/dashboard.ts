// The dashboard part of `npm run bench` (BENCH_ONLY=dashboard): does watching a run cost it
// anything? The same run — the default MLP (784-256-128-10) on the built-in MNIST, batch 128,
// microbatch 16, BENCH_DASH_EPOCHS epochs (default 2), `gradwire train --workers 2` through
// the real CLI — without and with a dashboard client connected for the whole run: a
// server-sent-events client in this process reading `/api/events` from the coordinator's
// `listening` log line to its end (it checks that it received every step). With
// BENCH_DASH_BROWSER=1 (and Chromium installed) a third mode opens the page itself in headless
// Chromium — on this machine's own cores, so that also counts the browser drawing the charts.
// Repetitions interleaved (without, with, with, without, ...), medians reported; samples/s
// from summary.json (training samples over the time in training steps), steady = batch /
// median step ms (step 0 excluded), and the coordinator process's CPU seconds (user + system,
// read from /proc when it logs `done`), which a shared machine's load disturbs less.
//
// Then, because a few percent of end-to-end throughput drowns in a busy 2-core machine's noise,
// the cost itself: a CoordinatorServer with the dashboard, in this process, fed synthetic step
// events at ~2000 steps/s (a small model's pace) for BENCH_DASH_MICRO_STEPS steps, with 0, 1
// and 10 SSE clients (curl processes, so that their reading is not counted here): this
// process's CPU time per step event, and the extra over 0 clients.
//
// Environment: BENCH_DASH_REPS (default 5), BENCH_DASH_EPOCHS (default 2), BENCH_DASH_BROWSER=1,
// BENCH_DASH_MICRO_STEPS (default 6000).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { installDashboard } from '../../coordinator/web/dashboard.js';
import { poolTelemetry } from '../../coordinator/cluster/pool.js';
import { CoordinatorServer } from '../../coordinator/cluster/server.js';
import { envNum, fmt, log, median, spread, table } from './stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin/gradwire.js');

type Mode = 'without' | 'sse' | 'browser';
const MODE_NAME: Record<Mode, string> = {
  without: 'no dashboard client',
  sse: 'SSE client on /api/events',
  browser: 'headless Chromium on /',
};

interface ClientStats {
  /** events received, by name */
  events: Record<string, number>;
  bytes: number;
  /** distinct steps of the run the client knew at the end (snapshot + batches) */
  steps: number;
  /** the run's step when the client's snapshot was taken (0: connected before training) */
  connectedAtStep: number;
}

export interface DashRun {
  mode: Mode;
  samplesPerSecond: number;
  steadySamplesPerSecond: number;
  steps: number;
  wallSeconds: number;
  /** the coordinator's CPU time when it logged `done` (user + system, s) */
  coordinatorCpuSeconds: number;
  client: ClientStats | null;
}

/** CPU time (user + system, seconds) a process has used so far, from /proc (NaN elsewhere). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Read the coordinator's event stream until it ends; count what arrives. */
function sseClient(url: string): Promise<ClientStats> {
  return new Promise((res, rej) => {
    const stats: ClientStats = { events: {}, bytes: 0, steps: 0, connectedAtStep: -1 };
    const seen = new Set<number>();
    let buf = '';
    const handle = (block: string): void => {
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (!data) return;
      stats.events[event] = (stats.events[event] ?? 0) + 1;
      const d = JSON.parse(data) as Record<string, unknown>;
      if (event === 'snapshot') {
        const runs = d.runs as Array<{ info: { step: number }; steps: Array<{ step: number }> }>;
        stats.connectedAtStep = runs[0]?.info.step ?? 0;
        for (const r of runs) for (const p of r.steps) seen.add(p.step);
      } else if (event === 'steps') {
        for (const pts of Object.values(d.runs as Record<string, Array<{ step: number }>>))
          for (const p of pts) seen.add(p.step);
      }
    };
    const req = get(url, { headers: { accept: 'text/event-stream' } }, (r) => {
      if (r.statusCode !== 200) {
        rej(new Error(`${url}: HTTP ${r.statusCode}`));
        r.resume();
        return;
      }
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => {
        stats.bytes += Buffer.byteLength(chunk);
        buf += chunk;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          handle(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      });
      r.on('end', () => {
        stats.steps = seen.size;
        res(stats);
      });
      r.on('error', rej);
    });
    req.on('error', rej);
  });
}

interface BrowserHandle {
  open(url: string): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

async function startBrowser(): Promise<BrowserHandle | string> {
  const { browserAvailable, launchBrowser } = await import('../helpers/browser.js');
  const why = browserAvailable();
  if (why !== null) return why;
  const browser = await launchBrowser();
  return {
    async open(url) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(url);
      return async () => page.close();
    },
    close: () => browser.close(),
  };
}

async function runOnce(
  dir: string,
  config: string,
  mode: Mode,
  tag: string,
  browser: BrowserHandle | null,
): Promise<DashRun> {
  const out = join(dir, tag);
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CLI,
      'train',
      '--workers',
      '2',
      '--config',
      config,
      '--out',
      out,
      '--log-format',
      'json',
      '--log-level',
      'debug',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } },
  );
  let stdout = '';
  let stderr = '';
  let client: Promise<ClientStats> | null = null;
  let closePage: Promise<() => Promise<void>> | null = null;
  let cpu = NaN;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (Number.isNaN(cpu) && d.includes('"event":"done"')) cpu = cpuSeconds(child.pid!);
    if (mode === 'without' || client || closePage) return;
    const m = /"event":"listening".*?"dashboard":"([^"]+)"/.exec(stdout);
    if (!m) return;
    if (mode === 'sse') client = sseClient(`${m[1]}api/events`);
    else closePage = browser!.open(m[1]!);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((r, j) => {
    child.on('error', j);
    child.on('close', (c) => r(c));
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  if (code !== 0)
    throw new Error(
      `gradwire train (${MODE_NAME[mode]}) exited with ${code}:\n${stderr.slice(-2000)}${stdout.slice(-2000)}`,
    );
  const stats = client ? await (client as Promise<ClientStats>) : null;
  if (closePage) await (await (closePage as Promise<() => Promise<void>>))();
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
    samplesPerSecond: number;
    steps: number;
    batchSize?: number;
  };
  const stepMs: number[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.includes('"event":"step"')) continue;
    try {
      const e = JSON.parse(line) as { step: number; ms: number };
      if (e.step > 0) stepMs.push(e.ms);
    } catch {
      /* a torn line */
    }
  }
  rmSync(out, { recursive: true, force: true });
  if (mode !== 'without' && !client && !closePage)
    throw new Error('the dashboard client never connected (no listening event)');
  if (stats && stats.steps !== summary.steps) {
    throw new Error(
      `the SSE client saw ${stats.steps} of ${summary.steps} steps (connected at step ${stats.connectedAtStep})`,
    );
  }
  return {
    mode,
    samplesPerSecond: summary.samplesPerSecond,
    steadySamplesPerSecond: (128 / median(stepMs)) * 1000,
    steps: summary.steps,
    wallSeconds,
    coordinatorCpuSeconds: cpu,
    client: stats,
  };
}

export interface DashboardBench {
  reps: number;
  epochs: number;
  seconds: number;
  modes: Array<{
    mode: Mode;
    name: string;
    samplesPerSecond: number;
    steadySamplesPerSecond: number;
    wallSeconds: number;
    coordinatorCpuSeconds: number;
    /** against no client: samples/s ratio (1 = no cost) */
    ratio: number;
    steadyRatio: number;
    runs: DashRun[];
  }>;
  /** the SSE client of the last repetition: what a dashboard receives over one run */
  client: ClientStats | null;
  browser: string;
  micro: MicroCost;
}

export interface MicroCost {
  steps: number;
  /** client processes: curl, or (without curl) HTTP clients in this process */
  clientKind: string;
  rows: Array<{ clients: number; cpuUsPerStep: number; extraUsPerStep: number; bytesPerClient: number }>;
}

/** This process's CPU per step event of a coordinator server with the dashboard, fed
 *  synthetic steps, with `clients` SSE clients connected. */
async function microCost(): Promise<MicroCost> {
  const steps = Math.round(envNum('BENCH_DASH_MICRO_STEPS', 6000));
  const curl = spawnSync('curl', ['--version']).status === 0;
  const rows: MicroCost['rows'] = [];
  for (const clients of [0, 1, 10, 0]) {
    const server = new CoordinatorServer({
      host: '127.0.0.1',
      port: 0,
      token: null,
      tls: null,
      log: pino({ level: 'silent' }),
      runtime: { node: process.versions.node, v8: process.versions.v8, kernel: 'js' },
      heartbeatMs: 1000,
      heartbeatTimeoutMs: 10_000,
    });
    const telemetry = poolTelemetry(server);
    installDashboard(server, telemetry);
    const port = await server.start();
    const run = telemetry.forRun('bench-micro');
    run.started({
      mode: 'distributed',
      model: '784-256-128-10',
      dataset: 'mnist',
      batchSize: 128,
      epochs: 1,
      stepsPerEpoch: steps,
      totalSteps: steps,
      startStep: 0,
    });
    const url = `http://127.0.0.1:${port}/api/events`;
    const procs: ChildProcess[] = [];
    const received: Array<() => number> = [];
    for (let i = 0; i < clients; i++) {
      if (curl) {
        const p = spawn('curl', ['-sN', url], { stdio: ['ignore', 'pipe', 'ignore'] });
        let n = 0;
        p.stdout!.on('data', (d: Buffer) => {
          n += d.byteLength;
        });
        procs.push(p);
        received.push(() => n);
      } else {
        const stats = sseClient(url);
        received.push(() => NaN);
        void stats.catch(() => {});
      }
    }
    await new Promise((r) => setTimeout(r, 1000)); // the clients connect and get their snapshot
    const before = received.map((f) => f());
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < steps; i++) {
      run.step({
        step: i,
        epoch: 0,
        t: Date.now(),
        loss: 2.3 - i / steps,
        accuracy: i / steps,
        rows: 128,
        ms: 0.5,
        computeMs: 0.3,
        commMs: 0.1,
        bytes: 1e6,
        workers: 2,
        skipped: false,
      });
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 10)); // ~2000 steps/s
    }
    await new Promise((r) => setTimeout(r, 300)); // the last batch goes out
    const cpu = process.cpuUsage(cpu0);
    const bytes = received.map((f, i) => f() - before[i]!);
    await server.close();
    for (const p of procs) p.kill();
    rows.push({
      clients,
      cpuUsPerStep: (cpu.user + cpu.system) / steps,
      extraUsPerStep: NaN,
      bytesPerClient: bytes.length ? median(bytes) : 0,
    });
  }
  // the baseline (no client) ran first and last: their mean
  const zero = rows.filter((r) => r.clients === 0);
  const base = zero.reduce((a, r) => a + r.cpuUsPerStep, 0) / zero.length;
  const out = [{ ...zero[0]!, cpuUsPerStep: base }, ...rows.filter((r) => r.clients > 0)].map((r) => ({
    ...r,
    extraUsPerStep: r.cpuUsPerStep - base,
  }));
  return { steps, clientKind: curl ? 'curl processes' : 'in-process HTTP clients (no curl)', rows: out };
}

export async function runDashboardBench(): Promise<DashboardBench> {
  const t0 = Date.now();
  const reps = Math.round(envNum('BENCH_DASH_REPS', 5));
  const epochs = Math.round(envNum('BENCH_DASH_EPOCHS', 2));
  const dir = mkdtempSync(join(tmpdir(), 'gradwire-bench-dash-'));
  const config = join(dir, 'run.json');
  writeFileSync(config, JSON.stringify({ batchSize: 128, microbatch: 16, epochs }));
  const modes: Mode[] = ['without', 'sse'];
  let browser: BrowserHandle | null = null;
  let browserNote = 'not run (BENCH_DASH_BROWSER=1 adds it)';
  if (process.env.BENCH_DASH_BROWSER === '1') {
    const b = await startBrowser();
    if (typeof b === 'string') {
      browserNote = `skipped: ${b}`;
    } else {
      browser = b;
      browserNote = 'run';
      modes.push('browser');
    }
  }
  log(
    `dashboard: ${modes.map((m) => MODE_NAME[m]).join(' / ')}; gradwire train --workers 2, MNIST, MLP 784-256-128-10, batch 128, ${epochs} epoch(s); ${reps} repetitions, interleaved`,
  );
  const runs = new Map<Mode, DashRun[]>(modes.map((m) => [m, []]));
  try {
    for (let r = 0; r < reps; r++) {
      const order = r % 2 ? [...modes].reverse() : modes;
      for (const mode of order) {
        const res = await runOnce(dir, config, mode, `r${r}-${mode}`, browser);
        runs.get(mode)!.push(res);
        log(
          `  rep ${r + 1}/${reps} ${MODE_NAME[mode]}: ${fmt(res.samplesPerSecond)} samples/s (steady ${fmt(res.steadySamplesPerSecond)}), ${res.steps} steps, ${fmt(res.wallSeconds)} s` +
            (res.client
              ? `; client got ${res.client.steps} steps in ${Object.entries(res.client.events)
                  .map(([k, v]) => `${v} ${k}`)
                  .join(', ')}, ${fmt(res.client.bytes / 1024)} KiB, connected at step ${res.client.connectedAtStep}`
              : ''),
        );
      }
    }
  } finally {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const base = runs.get('without')!;
  const baseSps = median(base.map((x) => x.samplesPerSecond));
  const baseSteady = median(base.map((x) => x.steadySamplesPerSecond));
  const result = modes.map((mode) => {
    const rs = runs.get(mode)!;
    const sps = median(rs.map((x) => x.samplesPerSecond));
    const steady = median(rs.map((x) => x.steadySamplesPerSecond));
    return {
      mode,
      name: MODE_NAME[mode],
      samplesPerSecond: sps,
      steadySamplesPerSecond: steady,
      wallSeconds: median(rs.map((x) => x.wallSeconds)),
      coordinatorCpuSeconds: median(rs.map((x) => x.coordinatorCpuSeconds)),
      ratio: sps / baseSps,
      steadyRatio: steady / baseSteady,
      runs: rs,
    };
  });
  const sse = runs.get('sse')!;
  log('dashboard: server-side CPU per step event with 0, 1 and 10 SSE clients');
  const micro = await microCost();
  return {
    reps,
    epochs,
    seconds: (Date.now() - t0) / 1000,
    modes: result,
    client: sse[sse.length - 1]?.client ?? null,
    browser: browserNote,
    micro,
  };
}

export function printDashboard(d: DashboardBench): void {
  process.stdout.write(
    `\n${table(
      [
        'dashboard (train --workers 2, MNIST MLP, batch 128)',
        'samples/s',
        'steady',
        'wall s',
        'coordinator CPU s',
        'ratio',
        'steady ratio',
      ],
      d.modes.map((m) => [
        m.name,
        fmt(m.samplesPerSecond),
        fmt(m.steadySamplesPerSecond),
        fmt(m.wallSeconds),
        fmt(m.coordinatorCpuSeconds),
        fmt(m.ratio),
        fmt(m.steadyRatio),
      ]),
    )}\n`,
  );
  process.stdout.write(
    `(medians of ${d.reps} interleaved repetitions, ${d.epochs} epoch(s) each; ratio = with / without a client; spread of samples/s min–max:\n`,
  );
  for (const m of d.modes) {
    const sp = spread(m.runs.map((r) => r.samplesPerSecond));
    process.stdout.write(`  ${m.name}: ${fmt(sp.min)}–${fmt(sp.max)}\n`);
  }
  if (d.client) {
    process.stdout.write(
      `  an SSE client receives over one run: ${Object.entries(d.client.events)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}; ` + `${fmt(d.client.bytes / 1024)} KiB; every step (${d.client.steps})\n`,
    );
  }
  process.stdout.write(`  headless Chromium mode: ${d.browser})\n`);
  process.stdout.write(
    `\n${table(
      ['dashboard server cost per step event', 'CPU µs/step', 'extra over 0 clients', 'bytes/client'],
      d.micro.rows.map((r) => [
        `${r.clients} SSE client${r.clients === 1 ? '' : 's'}`,
        fmt(r.cpuUsPerStep),
        r.clients ? fmt(r.extraUsPerStep) : '-',
        r.clients ? `${fmt(r.bytesPerClient / 1024)} KiB` : '-',
      ]),
    )}\n`,
  );
  const stepMs = d.modes[0] ? (128 / d.modes[0].steadySamplesPerSecond) * 1000 : NaN;
  const worst = Math.max(...d.micro.rows.map((r) => r.extraUsPerStep));
  process.stdout.write(
    `(${d.micro.steps} synthetic steps at ~2000/s, clients: ${d.micro.clientKind}; the coordinator process's CPU, the clients' not counted; ` +
      `the worst extra is ${fmt(worst)} µs per step against a ${fmt(stepMs)} ms step of the run above: ${fmt((worst / 1000 / stepMs) * 100)}%)\n  ${d.seconds.toFixed(1)} s\n`,
  );
}

// run alone: tsx test/bench/dashboard.ts
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  runDashboardBench().then(
    (d) => {
      printDashboard(d);
      process.stdout.write(`BENCH_JSON ${JSON.stringify({ dashboard: d })}\n`);
    },
    (e: unknown) => {
      log(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exitCode = 1;
    },
  );
}
