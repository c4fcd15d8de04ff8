// Prometheus metrics at /metrics: the text parses (an independent parser), every family is
// gradwire_-prefixed with HELP and TYPE, the counters move during a real run on real workers
// and end equal to what the run's own outputs say (summary.json, steps.csv, the step log),
// failures and reassignments are counted, the token gate holds, and a sweep's trials are
// counted by status. Plus in-process checks of the bookkeeping itself.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import pino from 'pino';
import { register as globalRegistry, Gauge } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { installMetrics } from '../../coordinator/web/metrics.js';
import { poolTelemetry } from '../../coordinator/cluster/pool.js';
import { CoordinatorServer } from '../../coordinator/cluster/server.js';
import { SESSION_COOKIE, sessionValue } from '../../coordinator/cluster/auth.js';
import type { StepPoint } from '../../coordinator/run/telemetry.js';
import { tempDir, withFiles } from '../helpers/cli.js';
import { killAll, listeningPort, startCoordinator, startWorker, summary, type Proc } from '../helpers/cluster.js';
import { irisSweep } from '../helpers/fixtures.js';

// the parser ships no types; it folds a histogram's series into one (it knows unlabelled
// histograms only), so histograms are read from the checked sample lines instead
interface Sample {
  value?: string;
  labels?: Record<string, string>;
}
interface Family {
  name: string;
  help: string;
  type: string;
  metrics: Sample[];
}
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

interface Line {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Scrape {
  text: string;
  families: Map<string, Family>;
  lines: Line[];
}

/** Check the exposition text line by line, parse it, and index the families by name. */
function parseMetrics(text: string): Scrape {
  const lines = text.split('\n').filter((l) => l !== '');
  const samples: Line[] = [];
  const help = new Set<string>();
  const type = new Map<string, string>();
  for (const l of lines) {
    const h = /^# HELP (\S+) (.+)$/.exec(l);
    const t = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(l);
    if (h) help.add(h[1]!);
    else if (t) {
      expect(help.has(t[1]!), `# TYPE ${t[1]} comes after its # HELP`).toBe(true);
      type.set(t[1]!, t[2]!);
    } else {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+-]+|[+-]Inf|NaN)$/.exec(l);
      expect(m, `a sample line: ${l}`).not.toBeNull();
      const name = m![1]!;
      const family = type.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
      expect(type.has(family), `${name} belongs to a family with # TYPE`).toBe(true);
      const labels: Record<string, string> = {};
      for (const [, k, v] of (m![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
      samples.push({ name, labels, value: Number(m![3]) });
    }
  }
  const families = new Map<string, Family>();
  for (const f of parsePrometheus(text)) {
    expect(f.name).toMatch(/^gradwire_[a-z0-9_]+$/);
    expect(f.help.length, `${f.name} has a HELP text`).toBeGreaterThan(0);
    expect(['COUNTER', 'GAUGE', 'HISTOGRAM', 'SUMMARY']).toContain(f.type);
    expect(families.has(f.name), `${f.name} appears once`).toBe(false);
    families.set(f.name, f);
  }
  expect(families.size).toBe(type.size);
  return { text, families, lines: samples };
}

function sample(s: Scrape, name: string, labels: Record<string, string> = {}): Sample | undefined {
  const f = s.families.get(name);
  if (!f) throw new Error(`no metric ${name} in the scrape`);
  return f.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

/** the value of a counter or gauge sample */
function value(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  const m = sample(s, name, labels);
  if (!m || m.value === undefined) throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
  return Number(m.value);
}

/** a histogram series: its count, sum and cumulative buckets (checked to be consistent) */
function histogram(
  s: Scrape,
  name: string,
  labels: Record<string, string>,
): { count: number; sum: number; buckets: Map<string, number> } {
  expect(s.families.get(name)?.type).toBe('HISTOGRAM');
  const of = (suffix: string): Line[] =>
    s.lines.filter(
      (l) => l.name === `${name}_${suffix}` && Object.entries(labels).every(([k, v]) => l.labels[k] === v),
    );
  const [count, sum] = [of('count'), of('sum')];
  if (count.length !== 1 || sum.length !== 1) throw new Error(`no histogram ${name}${JSON.stringify(labels)}`);
  const buckets = new Map(of('bucket').map((l) => [l.labels.le!, l.value]));
  const cumulative = [...buckets.values()];
  expect(
    cumulative.every((v, i) => i === 0 || v >= cumulative[i - 1]!),
    'cumulative buckets',
  ).toBe(true);
  expect(buckets.get('+Inf')).toBe(count[0]!.value);
  return { count: count[0]!.value, sum: sum[0]!.value, buckets };
}

async function scrape(port: number, headers: Record<string, string> = {}): Promise<Scrape> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, { headers });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await r.text());
}

async function healthz(port: number): Promise<Record<string, unknown>> {
  const r = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(r.status).toBe(200);
  return (await r.json()) as Record<string, unknown>;
}

/** Scrape until `ok` holds (the workers leave asynchronously), or fail saying what was seen. */
async function scrapeUntil(
  port: number,
  ok: (s: Scrape) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<Scrape> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await scrape(port);
    if (ok(s)) return s;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const PHASES = ['compute', 'communication', 'wait', 'total'];
const STEP_SECONDS = 'gradwire_step_duration_seconds';

// spirals, 1200 samples: 960 train, batch 16: 60 steps per epoch; without BatchNorm (a lost
// worker's microbatches move, the step goes on)
const RUN = (epochs: number): string => `
seed: 11
data: { name: spirals, samples: 1200, classes: 3, noise: 0.2 }
model: { hidden: [16], activation: tanh }
optimizer: { name: adam, lr: 0.01 }
batchSize: 16
microbatch: 4
epochs: ${epochs}
`;

afterEach(killAll);

describe('/metrics during a real run with two workers', () => {
  it('parses, moves while training, and ends equal to summary.json, steps.csv and the step log', async () => {
    const dir = withFiles({ 'run.yaml': RUN(12) });
    const out = join(dir, 'out');
    const c = startCoordinator([
      '--config',
      join(dir, 'run.yaml'),
      '--listen',
      '127.0.0.1:0',
      '--out',
      out,
      '--min-workers',
      '2',
      '--stay',
    ]);
    const port = await listeningPort(c);

    // before any worker: every family is there, at zero
    const s0 = await scrape(port);
    expect(value(s0, 'gradwire_steps_total', { kind: 'run' })).toBe(0);
    expect(value(s0, 'gradwire_workers_connected')).toBe(0);
    expect(histogram(s0, STEP_SECONDS, { phase: 'total' }).count).toBe(0);
    expect(s0.families.has('gradwire_process_cpu_seconds_total')).toBe(true); // Node's process metrics, prefixed

    startWorker(port, 'a');
    startWorker(port, 'b');
    await c.waitForStep(20);
    const s1 = await scrape(port);
    const steps1 = value(s1, 'gradwire_steps_total', { kind: 'run' });
    expect(steps1).toBeGreaterThanOrEqual(21);
    expect(value(s1, 'gradwire_workers', { state: 'ready' })).toBe(2);
    expect(value(s1, 'gradwire_workers_connected')).toBe(2);
    // one info series per worker: Node processes, no user agent (browsers: browser-join.test.ts)
    for (const name of ['a', 'b'])
      expect(s1.lines.find((l) => l.name === 'gradwire_worker_info' && l.labels.name === name)).toMatchObject({
        labels: { kind: 'node', user_agent: '' },
        value: 1,
      });
    expect(value(s1, 'gradwire_samples_per_second')).toBeGreaterThan(0);
    // the run in progress (its series go when it ends): its step and its length
    const runStep1 = value(s1, 'gradwire_run_step', { kind: 'run' });
    expect(runStep1).toBeGreaterThanOrEqual(steps1);
    expect(value(s1, 'gradwire_run_total_steps', { kind: 'run' })).toBe(12 * 60);

    await c.waitForStep(steps1 + 150);
    const s2 = await scrape(port);
    for (const [name, labels] of [
      ['gradwire_steps_total', { kind: 'run' }],
      ['gradwire_samples_total', { kind: 'run' }],
      ['gradwire_bytes_received_total', {}],
      ['gradwire_bytes_sent_total', {}],
    ] as const) {
      expect(value(s2, name, labels), `${name} moved`).toBeGreaterThan(value(s1, name, labels));
    }
    for (const phase of ['compute', 'communication', 'total']) {
      expect(histogram(s2, STEP_SECONDS, { phase }).count, `${phase} observations moved`).toBeGreaterThan(
        histogram(s1, STEP_SECONDS, { phase }).count,
      );
    }

    // done (--stay: the coordinator keeps serving); the workers leave on job-done
    await c.waitForEvent('staying');
    expect((await healthz(port)).state).toBe('done');
    const s3 = await scrapeUntil(port, (s) => value(s, 'gradwire_workers_connected') === 0, 'the workers to leave');
    const sum = summary(out);
    const steps = sum.steps as number;
    const epochs = sum.epochs as number;
    const train = (sum.dataset as { train: number }).train;
    expect(steps).toBe(12 * 60);
    expect(value(s3, 'gradwire_steps_total', { kind: 'run' })).toBe(steps);
    expect(value(s3, 'gradwire_steps_total', { kind: 'trial' })).toBe(0);
    expect(value(s3, 'gradwire_skipped_steps_total', { kind: 'run' })).toBe(sum.skippedSteps);
    expect(value(s3, 'gradwire_epochs_total', { kind: 'run' })).toBe(epochs);
    // every step's rows: steps.csv, and epochs × the training split (the last batch is short)
    const csv = readFileSync(join(out, 'steps.csv'), 'utf8').trim().split('\n');
    const cols = csv[0]!.split(',');
    const rows = csv.slice(1).map((l) => l.split(','));
    const rowsAt = cols.indexOf('rows');
    const msAt = cols.indexOf('ms');
    expect(rows).toHaveLength(steps);
    const samples = value(s3, 'gradwire_samples_total', { kind: 'run' });
    expect(samples).toBe(rows.reduce((a, r) => a + Number(r[rowsAt]), 0));
    expect(samples).toBe(epochs * train);
    // one observation per step and phase; the total's sum is the steps' time (steps.csv's ms)
    for (const phase of PHASES) expect(histogram(s3, STEP_SECONDS, { phase }).count, phase).toBe(steps);
    const csvSeconds = rows.reduce((a, r) => a + Number(r[msAt]), 0) / 1000;
    expect(histogram(s3, STEP_SECONDS, { phase: 'total' }).sum).toBeCloseTo(csvSeconds, 2);
    const total = histogram(s3, STEP_SECONDS, { phase: 'total' });
    expect(total.buckets.get('+Inf')).toBe(steps);
    expect([...total.buckets.keys()]).toEqual([
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ]);
    // the bytes of every step (the coordinator's step log) are part of the totals; the rest is
    // handshakes, jobs and the next step's samples handed out between steps
    const logged = c.events.filter((e) => e.event === 'step');
    expect(logged).toHaveLength(steps);
    const stepBytes = logged.reduce((a, e) => a + (e.bytes as number), 0);
    const wire = value(s3, 'gradwire_bytes_received_total') + value(s3, 'gradwire_bytes_sent_total');
    expect(stepBytes).toBeGreaterThan(0);
    expect(wire).toBeGreaterThanOrEqual(stepBytes);
    expect(stepBytes).toBeGreaterThan(0.5 * wire);
    // the throughput while training was of the run's order (units: samples per second)
    const sps = sum.samplesPerSecond as number;
    expect(value(s1, 'gradwire_samples_per_second')).toBeGreaterThan(sps / 10);
    expect(value(s1, 'gradwire_samples_per_second')).toBeLessThan(sps * 10);
    // nothing went wrong, and the run is no longer in progress
    expect(value(s3, 'gradwire_worker_failures_total')).toBe(0);
    expect(value(s3, 'gradwire_reassignments_total')).toBe(0);
    expect(value(s3, 'gradwire_rejected_frames_total')).toBe(0);
    expect(value(s3, 'gradwire_worker_disconnects_total')).toBe(2);
    expect(value(s3, 'gradwire_samples_per_second')).toBe(0);
    expect(sample(s3, 'gradwire_run_step')).toBeUndefined();
    expect(value(s3, 'gradwire_sweep_trials_planned')).toBe(0);

    c.kill('SIGTERM');
    expect(await c.exited).toBe(0);
  });
});

describe('/metrics when a worker is lost mid-step', () => {
  it('counts the failure and the reassignment, as /healthz and the log say', async () => {
    // long enough (≈ 18,000 steps of ~1 ms) that the run is still going whenever the kill lands
    // on a busy machine; the test ends it (afterEach) once it has seen what it asserts. Batches
    // of 12 microbatches: shares follow measured speeds, and with only 4 a worker slowed by a
    // busy machine may get none (then its loss moves nothing); with 12 each gets at least one
    // unless it is measured 11 times slower than the others together
    const dir = withFiles({ 'run.yaml': RUN(900).replace('batchSize: 16', 'batchSize: 48') });
    const c = startCoordinator([
      '--config',
      join(dir, 'run.yaml'),
      '--listen',
      '127.0.0.1:0',
      '--out',
      join(dir, 'out'),
      '--min-workers',
      '3',
    ]);
    const port = await listeningPort(c);
    const ws = ['w1', 'w2', 'w3'].map((n) => startWorker(port, n));
    await c.waitForStep(20);
    const before = await scrape(port);
    expect(value(before, 'gradwire_workers', { state: 'ready' })).toBe(3);
    // frozen, w2 holds a share of the step in flight (every step hands each worker a share);
    // killed, its share must go to the others
    ws[1]!.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 400));
    ws[1]!.kill('SIGKILL');
    const reassign = await c.waitForEvent('reassign', (e) => e.name === 'w2', 10_000);
    const moved = Number(/its (\d+) microbatches/.exec(reassign.msg as string)?.[1]);
    expect(moved).toBeGreaterThan(0);
    const after = await scrapeUntil(
      port,
      (s) => value(s, 'gradwire_workers', { state: 'ready' }) === 2,
      'w2 to be dropped',
    );
    expect(value(before, 'gradwire_worker_failures_total')).toBe(0);
    expect(value(after, 'gradwire_worker_failures_total')).toBe(1);
    expect(value(after, 'gradwire_reassignments_total')).toBe(1);
    expect(value(after, 'gradwire_reassignments_total')).toBe((await healthz(port)).reassignments);
    expect(value(after, 'gradwire_reassigned_microbatches_total')).toBe(moved);
    expect(value(after, 'gradwire_worker_disconnects_total')).toBe(1);
    expect(value(after, 'gradwire_workers_connected')).toBe(2);
    // and training goes on, on the two left (a step may hand all of its microbatches to one
    // of them when their measured speeds differ a lot, so a step has 1 or 2 participants)
    const later = await c.waitForStep(value(after, 'gradwire_steps_total', { kind: 'run' }) + 20);
    expect(later.workers).toBeGreaterThanOrEqual(1);
    expect(later.workers).toBeLessThanOrEqual(2);
    expect(value(await scrape(port), 'gradwire_workers', { state: 'ready' })).toBe(2);
  });
});

describe('/metrics with a token', () => {
  const token = `gw-metrics-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const dir = withFiles({ 'run.yaml': RUN(1), token: `${token}\n` });
  const coordinator = (extra: string[]): Proc =>
    startCoordinator([
      '--config',
      join(dir, 'run.yaml'),
      '--listen',
      '127.0.0.1:0',
      '--out',
      tempDir(),
      '--token-file',
      join(dir, 'token'),
      ...extra,
    ]);

  it('needs the token (bearer or session cookie); /healthz stays open; the body never holds the token', async () => {
    const c = coordinator([]);
    const port = await listeningPort(c);
    const url = `http://127.0.0.1:${port}/metrics`;
    const bare = await fetch(url);
    expect(bare.status).toBe(401);
    expect(await bare.text()).not.toContain(token);
    expect((await fetch(url, { headers: { authorization: 'Bearer not-the-token' } })).status).toBe(401);
    expect(
      (
        await fetch(url, {
          headers: { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` },
        })
      ).status,
    ).toBe(401);
    const ok = await scrape(port, { authorization: `Bearer ${token}` });
    expect(ok.text).not.toContain(token);
    expect(value(ok, 'gradwire_steps_total', { kind: 'run' })).toBe(0);
    const cookie = await scrape(port, { cookie: `${SESSION_COOKIE}=${sessionValue(token)}` });
    expect(cookie.families.has('gradwire_workers')).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(c.lines.join('\n') + c.stderr).not.toContain(token);
  });

  it('with --public-dashboard it is served without the token', async () => {
    const c = coordinator(['--public-dashboard']);
    const port = await listeningPort(c);
    const s = await scrape(port);
    expect(s.text).not.toContain(token);
    expect(value(s, 'gradwire_workers_connected')).toBe(0);
  });
});

// a small random sweep on iris (see sweep.test.ts)
const SWEEP = irisSweep({ trials: 3, epochs: 6, dropout: [0, 0.2], init: false });

describe('/metrics of a sweep coordinator', () => {
  it("counts trials by status and trial steps, as the sweep's outputs say", async () => {
    const dir = withFiles({ 'sweep.yaml': SWEEP });
    const out = join(dir, 'out');
    const c = startCoordinator([
      '--sweep',
      join(dir, 'sweep.yaml'),
      '--listen',
      '127.0.0.1:0',
      '--out',
      out,
      '--min-workers',
      '2',
      '--stay',
    ]);
    const port = await listeningPort(c);
    startWorker(port, 'a');
    startWorker(port, 'b');
    await c.waitForEvent('staying', undefined, 60_000);
    const s = await scrape(port);
    const sum = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      trials: number;
      finished: number;
      stopped: number;
      failed: number;
    };
    expect(sum.trials).toBe(3);
    expect(value(s, 'gradwire_sweep_trials_planned')).toBe(3);
    expect(value(s, 'gradwire_sweep_trials', { status: 'finished' })).toBe(sum.finished);
    expect(value(s, 'gradwire_sweep_trials', { status: 'stopped' })).toBe(sum.stopped);
    expect(value(s, 'gradwire_sweep_trials', { status: 'failed' })).toBe(sum.failed);
    expect(value(s, 'gradwire_sweep_trials', { status: 'queued' })).toBe(0);
    expect(value(s, 'gradwire_sweep_trials', { status: 'running' })).toBe(0);
    // every trial's steps, as its own summary says
    let trialSteps = 0;
    let trialEpochs = 0;
    for (let i = 0; i < sum.trials; i++) {
      const t = summary(join(out, 'trials', String(i)));
      trialSteps += t.steps as number;
      trialEpochs += t.epochs as number;
    }
    expect(value(s, 'gradwire_steps_total', { kind: 'trial' })).toBe(trialSteps);
    expect(value(s, 'gradwire_epochs_total', { kind: 'trial' })).toBe(trialEpochs);
    expect(value(s, 'gradwire_steps_total', { kind: 'run' })).toBe(0);
    expect(histogram(s, STEP_SECONDS, { phase: 'compute' }).count).toBe(trialSteps);
    c.kill('SIGTERM');
    expect(await c.exited).toBe(0);
  });
});

describe('the bookkeeping, in process', () => {
  const started: CoordinatorServer[] = [];
  const newServer = (): CoordinatorServer =>
    new CoordinatorServer({
      host: '127.0.0.1',
      port: 0,
      token: null,
      tls: null,
      log: pino({ level: 'silent' }),
      runtime: { node: process.versions.node, v8: process.versions.v8, kernel: 'js' },
      heartbeatMs: 1000,
      heartbeatTimeoutMs: 5000,
    });
  afterAll(async () => {
    for (const s of started) await s.close();
  });
  const point = (step: number, o: Partial<StepPoint> = {}): StepPoint => ({
    step,
    epoch: 0,
    t: Date.now(),
    loss: 1,
    accuracy: 0.5,
    rows: 32,
    ms: 4,
    skipped: false,
    ...o,
  });

  it('each server has its own registry (never the global one); in-process steps count as total only', async () => {
    const sa0 = newServer();
    const a = installMetrics(sa0, poolTelemetry(sa0));
    const b = newServer();
    const tb = poolTelemetry(b);
    const mb = installMetrics(b, tb);
    const run = tb.forRun('r', 'run');
    run.started({
      mode: 'in-process',
      model: 'm',
      dataset: 'd',
      batchSize: 32,
      epochs: 1,
      stepsPerEpoch: 10,
      totalSteps: 10,
      startStep: 0,
    });
    for (let i = 0; i < 10; i++) run.step(point(i, { skipped: i === 3 }));
    const sa = parseMetrics(await a.render());
    const sb = parseMetrics(await mb.render());
    expect(value(sa, 'gradwire_steps_total', { kind: 'run' })).toBe(0);
    expect(value(sb, 'gradwire_steps_total', { kind: 'run' })).toBe(10);
    expect(value(sb, 'gradwire_skipped_steps_total', { kind: 'run' })).toBe(1);
    expect(value(sb, 'gradwire_samples_total', { kind: 'run' })).toBe(320);
    expect(histogram(sb, STEP_SECONDS, { phase: 'total' }).count).toBe(10);
    expect(histogram(sb, STEP_SECONDS, { phase: 'total' }).sum).toBeCloseTo(0.04, 9);
    expect(histogram(sb, STEP_SECONDS, { phase: 'compute' }).count).toBe(0);
    expect(value(sb, 'gradwire_samples_per_second')).toBeCloseTo(8000, 6); // 32 rows per 4 ms
    expect(value(sb, 'gradwire_run_step', { run: 'r' })).toBe(10);
    expect(globalRegistry.getMetricsAsArray().filter((m) => m.name.startsWith('gradwire_'))).toEqual([]);
    run.ended('finished');
    const done = parseMetrics(await mb.render());
    expect(value(done, 'gradwire_samples_per_second')).toBe(0);
    expect(sample(done, 'gradwire_run_step')).toBeUndefined();
  });

  it('counts trials by status as they move, and a new sweep starts from zero', async () => {
    const s = newServer();
    const tel = poolTelemetry(s);
    const m = installMetrics(s, tel);
    tel.sweepStarted({
      id: 'sw1',
      metric: { name: 'valAccuracy', goal: 'maximize' },
      parameters: ['lr'],
      total: 4,
    });
    const trial = (index: number, status: 'queued' | 'running' | 'finished' | 'stopped' | 'failed'): void =>
      tel.trial({ index, params: {}, status, value: null, valAccuracy: null, epochs: 0, runId: null });
    for (const i of [0, 1, 2, 3]) trial(i, 'queued');
    trial(0, 'running');
    trial(0, 'running');
    trial(0, 'finished');
    trial(1, 'running');
    trial(1, 'stopped');
    trial(2, 'running');
    const st = (x: Scrape, status: string): number => value(x, 'gradwire_sweep_trials', { status });
    const s1 = parseMetrics(await m.render());
    expect(value(s1, 'gradwire_sweep_trials_planned')).toBe(4);
    expect(['queued', 'running', 'finished', 'stopped', 'failed'].map((x) => st(s1, x))).toEqual([1, 1, 1, 1, 0]);
    tel.sweepStarted({
      id: 'sw2',
      metric: { name: 'valAccuracy', goal: 'maximize' },
      parameters: ['lr'],
      total: 2,
    });
    trial(0, 'failed');
    const s2 = parseMetrics(await m.render());
    expect(['queued', 'running', 'finished', 'stopped', 'failed'].map((x) => st(s2, x))).toEqual([0, 0, 0, 0, 1]);
    expect(value(s2, 'gradwire_sweep_trials_planned')).toBe(2);
  });

  it('odd values never reach training; a failing scrape answers 500 and the next one works', async () => {
    const s = newServer();
    const tel = poolTelemetry(s);
    const m = installMetrics(s, tel);
    const run = tel.forRun('r');
    run.started({
      mode: 'distributed',
      model: 'm',
      dataset: 'd',
      batchSize: 32,
      epochs: 1,
      stepsPerEpoch: 10,
      totalSteps: 10,
      startStep: 0,
    });
    // non-finite and negative times are not observed; the step still counts
    expect(() => run.step(point(0, { ms: NaN, computeMs: Infinity, commMs: -1, waitMs: 0 }))).not.toThrow();
    const x = parseMetrics(await m.render());
    expect(value(x, 'gradwire_steps_total', { kind: 'run' })).toBe(1);
    expect(histogram(x, STEP_SECONDS, { phase: 'total' }).count).toBe(0);
    expect(histogram(x, STEP_SECONDS, { phase: 'wait' }).count).toBe(1);

    const port = await s.start();
    started.push(s);
    let broken = true;
    new Gauge({
      name: 'gradwire_test_broken',
      help: 'fails while broken',
      registers: [m.registry],
      collect() {
        if (broken) throw new Error('boom');
        this.set(1);
      },
    });
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(r.status).toBe(500);
    expect(await r.text()).toMatch(/could not render the metrics: boom/);
    broken = false;
    expect(value(await scrape(port), 'gradwire_test_broken')).toBe(1);
  });
});
