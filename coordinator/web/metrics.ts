// Prometheus metrics at `/metrics` on the coordinator's port: what the telemetry reports (steps,
// samples, step times, failures, sweep trials) and what the server counts (bytes, rejected
// frames, workers, and per worker its threads and speed), in the Prometheus text format, every
// name prefixed `gradwire_`.
//
// Cost: each telemetry event does O(1) work: a step adds to plain-number tallies, updates its
// run's moving averages and makes four histogram observations (about 1.5 µs in all); the
// rest (bytes, frames, workers, run progress, throughput, counters) is read at scrape time by
// the metrics' collect().
// Node's process metrics are switched on at the first scrape, so a coordinator nobody scrapes
// pays nothing for them. Each server has its own registry (never prom-client's global one).
// A metrics bug never reaches training: the event handler swallows (and logs once) its errors.
import { wireAndWorkerMetrics } from './metrics-wire.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CoordinatorServer } from '../cluster/server.js';
import type { RunInfo, StepPoint, Telemetry, TelemetryEvent, TrialInfo } from '../run/telemetry.js';

const PREFIX = 'gradwire_';

/** step-time buckets, seconds: 1 ms .. 10 s */
export const STEP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** weight of the newest step in the throughput's moving averages (~ the last 10 steps) */
const EMA_ALPHA = 0.1;
/** a run with no step for this long (and 10 of its mean steps) counts as not training */
const STALL_MS = 2000;

type Kind = RunInfo['kind'];
type Phase = 'compute' | 'communication' | 'wait' | 'total';
type TrialStatus = TrialInfo['status'];

const KINDS: Kind[] = ['run', 'trial'];
const TRIAL_STATUSES: TrialStatus[] = ['queued', 'running', 'finished', 'stopped', 'failed'];

// label objects made once: the per-step path allocates none of its own
const KIND_LABELS: Record<Kind, { kind: Kind }> = { run: { kind: 'run' }, trial: { kind: 'trial' } };
const PHASE_LABELS: Record<Phase, { phase: Phase }> = {
  compute: { phase: 'compute' },
  communication: { phase: 'communication' },
  wait: { phase: 'wait' },
  total: { phase: 'total' },
};

/** What /metrics remembers of a run in progress. */
interface LiveRun {
  id: string;
  kind: Kind;
  step: number;
  totalSteps: number;
  /** moving averages (EMA_ALPHA) of rows, of training ms, and of 1 (to normalise them) */
  rows: number;
  ms: number;
  weight: number;
  /** wall-clock time of the last step (or of the start) */
  lastAt: number;
}

export interface Metrics {
  readonly registry: Registry;
  /** the /metrics body */
  render(): Promise<string>;
}

/** Serve GET /metrics on the server's port (the token gate is the server's). */
export function installMetrics(server: CoordinatorServer, telemetry: Telemetry): Metrics {
  const m = createMetrics(server, telemetry);
  server.route('GET', '/metrics', (_req, res) => {
    m.render().then(
      (body) => {
        res.writeHead(200, { 'content-type': m.registry.contentType, 'cache-control': 'no-store' });
        res.end(body);
      },
      (e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        server.o.log.error(
          { event: 'metrics-error', err: message },
          `/metrics: could not render the metrics: ${message}`,
        );
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`could not render the metrics: ${message}\n`);
      },
    );
  });
  return m;
}

/** The registry of one server, fed by the pool's telemetry and read from the server at scrape time. */
export function createMetrics(server: CoordinatorServer, telemetry: Telemetry): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const live = new Map<string, LiveRun>();

  // --- training: per-kind tallies kept as plain numbers by the events, read at scrape time
  const tally = {
    steps: { run: 0, trial: 0 },
    skipped: { run: 0, trial: 0 },
    samples: { run: 0, trial: 0 },
    epochs: { run: 0, trial: 0 },
  } satisfies Record<string, Record<Kind, number>>;
  const perKind = (name: string, help: string, counts: Record<Kind, number>): void => {
    const last: Record<Kind, number> = { run: 0, trial: 0 };
    const c = new Counter({
      name,
      help,
      labelNames: ['kind'] as const,
      registers,
      collect() {
        for (const k of KINDS) {
          if (counts[k] > last[k]) this.inc(KIND_LABELS[k], counts[k] - last[k]);
          last[k] = counts[k];
        }
      },
    });
    for (const k of KINDS) c.inc(KIND_LABELS[k], 0);
  };
  perKind(
    `${PREFIX}steps_total`,
    'Training steps done by this coordinator (kind: run, or trial of a sweep)',
    tally.steps,
  );
  perKind(
    `${PREFIX}skipped_steps_total`,
    'Training steps skipped because their gradient was not finite (onNonFinite: skip)',
    tally.skipped,
  );
  perKind(`${PREFIX}samples_total`, "Training samples processed (the rows of every step's batch)", tally.samples);
  perKind(`${PREFIX}epochs_total`, 'Training epochs completed (each followed by a validation pass)', tally.epochs);
  const stepSeconds = new Histogram({
    name: `${PREFIX}step_duration_seconds`,
    help: "Duration of a training step by phase: compute (slowest worker's gradient computation), communication (the rest of a distributed step until its last gradient arrived: frames, latency, BatchNorm sync rounds), wait (waiting for workers before the step could start), total (the whole step as in steps.csv: compute, communication, reduction and update, not the wait)",
    labelNames: ['phase'] as const,
    buckets: STEP_BUCKETS,
    registers,
  });
  for (const p of Object.values(PHASE_LABELS)) stepSeconds.zero(p);
  new Gauge({
    name: `${PREFIX}samples_per_second`,
    help: `Training throughput now: samples per second of training time over about the last ${Math.round(1 / EMA_ALPHA)} steps (moving averages), summed over the runs in progress; 0 when none is stepping`,
    registers,
    collect() {
      const now = Date.now();
      let sps = 0;
      for (const r of live.values()) {
        if (r.ms <= 0) continue;
        const meanMs = r.ms / r.weight;
        if (now - r.lastAt > Math.max(STALL_MS, 10 * meanMs)) continue;
        sps += (1000 * r.rows) / r.ms;
      }
      this.set(sps);
    },
  });
  new Gauge({
    name: `${PREFIX}run_step`,
    help: 'Steps done so far by each run in progress (its next step), including steps before a resume',
    labelNames: ['run', 'kind'] as const,
    registers,
    collect() {
      this.reset();
      for (const r of live.values()) this.set({ run: r.id, kind: r.kind }, r.step);
    },
  });
  new Gauge({
    name: `${PREFIX}run_total_steps`,
    help: 'Steps each run in progress will take in all (epochs times steps per epoch)',
    labelNames: ['run', 'kind'] as const,
    registers,
    collect() {
      this.reset();
      for (const r of live.values()) this.set({ run: r.id, kind: r.kind }, r.totalSteps);
    },
  });

  // --- the wire and the workers (read from the server at scrape time)
  wireAndWorkerMetrics(server, registers);
  const disconnects = new Counter({
    name: `${PREFIX}worker_disconnects_total`,
    help: 'Authenticated workers that left, for any reason (done, killed, rejected, heartbeat timeout)',
    registers,
  });
  const failures = new Counter({
    name: `${PREFIX}worker_failures_total`,
    help: 'Workers lost in the middle of a step (their work went to the others)',
    registers,
  });
  const reassignments = new Counter({
    name: `${PREFIX}reassignments_total`,
    help: "Times a lost worker's share of a step was handed out again",
    registers,
  });
  const reassigned = new Counter({
    name: `${PREFIX}reassigned_microbatches_total`,
    help: 'Microbatches handed out again after their worker was lost',
    registers,
  });
  for (const c of [disconnects, failures, reassignments, reassigned]) c.inc(0);

  // --- sweeps
  let sweepId: string | null = null;
  let planned = 0;
  const trialStatus = new Map<number, TrialStatus>();
  const trialCount: Record<TrialStatus, number> = {
    queued: 0,
    running: 0,
    finished: 0,
    stopped: 0,
    failed: 0,
  };
  new Gauge({
    name: `${PREFIX}sweep_trials`,
    help: 'Trials of the current sweep by status (queued, running, finished, stopped by ASHA, failed)',
    labelNames: ['status'] as const,
    registers,
    collect() {
      for (const s of TRIAL_STATUSES) this.set({ status: s }, trialCount[s]);
    },
  });
  new Gauge({
    name: `${PREFIX}sweep_trials_planned`,
    help: 'Trials the current sweep is configured to run (0: no sweep)',
    registers,
    collect() {
      this.set(planned);
    },
  });

  // --- the telemetry's events: O(1) each
  const seconds = (phase: Phase, ms: number | undefined): void => {
    if (ms !== undefined && Number.isFinite(ms) && ms >= 0) stepSeconds.observe(PHASE_LABELS[phase], ms / 1000);
  };
  const onRun = (run: RunInfo): void => {
    if (run.status !== 'running') {
      live.delete(run.id);
      return;
    }
    live.set(run.id, {
      id: run.id,
      kind: run.kind,
      step: run.step,
      totalSteps: run.totalSteps,
      rows: 0,
      ms: 0,
      weight: 0,
      lastAt: run.startedAt,
    });
  };
  const onStep = (runId: string, p: StepPoint): void => {
    const r = live.get(runId);
    const kind = r?.kind ?? 'run';
    tally.steps[kind]++;
    if (p.skipped) tally.skipped[kind]++;
    if (p.rows > 0) tally.samples[kind] += p.rows;
    seconds('total', p.ms);
    seconds('compute', p.computeMs);
    seconds('communication', p.commMs);
    seconds('wait', p.waitMs);
    if (!r) return;
    r.step = p.step + 1;
    r.lastAt = p.t;
    if (p.ms > 0 && Number.isFinite(p.ms)) {
      const keep = 1 - EMA_ALPHA;
      r.rows = keep * r.rows + EMA_ALPHA * p.rows;
      r.ms = keep * r.ms + EMA_ALPHA * p.ms;
      r.weight = keep * r.weight + EMA_ALPHA;
    }
  };
  const onTrial = (id: string, t: TrialInfo): void => {
    if (id !== sweepId) return;
    const was = trialStatus.get(t.index);
    if (was === t.status) return;
    if (was !== undefined) trialCount[was]--;
    trialCount[t.status]++;
    trialStatus.set(t.index, t.status);
  };

  let warned = false;
  telemetry.on('event', (e: TelemetryEvent) => {
    try {
      switch (e.type) {
        case 'step':
          return onStep(e.runId, e.point);
        case 'run':
          return onRun(e.run);
        case 'epoch':
          return void tally.epochs[live.get(e.runId)?.kind ?? 'run']++;
        case 'worker-gone':
          return void disconnects.inc();
        case 'failure':
          return void failures.inc();
        case 'reassignment':
          reassignments.inc();
          if (e.microbatches > 0) reassigned.inc(e.microbatches);
          return;
        case 'sweep':
          if (e.sweep.id !== sweepId) {
            sweepId = e.sweep.id;
            trialStatus.clear();
            for (const s of TRIAL_STATUSES) trialCount[s] = 0;
          }
          planned = e.sweep.total;
          return;
        case 'trial':
          return onTrial(e.sweepId, e.trial);
      }
    } catch (err) {
      // metrics must never disturb training
      if (!warned) {
        warned = true;
        server.o.log.warn(
          { event: 'metrics-error', err: (err as Error).message },
          `/metrics: ignoring an event it could not count: ${(err as Error).message}`,
        );
      }
    }
  });

  // Node's process metrics (CPU, memory, event loop lag, GC), switched on at the first scrape
  let defaults = false;
  const render = async (): Promise<string> => {
    if (!defaults) {
      defaults = true;
      try {
        collectDefaultMetrics({ register: registry, prefix: PREFIX });
      } catch (e) {
        server.o.log.warn(
          { event: 'metrics-error', err: (e as Error).message },
          `/metrics: no Node.js process metrics: ${(e as Error).message}`,
        );
      }
    }
    // prom-client writes NaN (an event loop lag before its first sample) as "Nan"; the text
    // format spells it "NaN"
    return (await registry.metrics()).replace(/ Nan$/gm, ' NaN');
  };
  return { registry, render };
}
