// What the coordinator is doing, for people and monitors: the run (or the sweep's trials) with
// its per-step and per-epoch points, the workers (live and gone), and counters. It belongs to
// the pool (cluster/pool.ts makes one per coordinator and feeds it the server's workers); the
// run loop, the distributed source and the sweep report into it; the dashboard
// (coordinator/web/dashboard.ts) streams its events to browsers and /metrics
// (coordinator/web/metrics.ts) turns them into Prometheus series. Reporting is synchronous and
// cheap (an array push and an event), so watching costs training nothing measurable.
import { EventEmitter } from 'node:events';
import type { EpochRow, RunMode } from '../store/outputs.js';
import type { RunStatus } from '../store/records.js';
import type { Spread } from '../../shared/sweep/stats.js';
import type { SeedRecord } from '../../shared/sweep/types.js';

/** One training step as the coordinator saw it. */
export interface StepPoint {
  step: number;
  epoch: number;
  /** wall-clock time the step ended, ms since 1970 */
  t: number;
  /** mean training loss over the step's batch */
  loss: number;
  accuracy: number;
  rows: number;
  /** the step's duration and its parts (distributed runs), ms */
  ms: number;
  computeMs?: number;
  commMs?: number;
  waitMs?: number;
  /** bytes on the wire during the step (distributed runs) */
  bytes?: number;
  workers?: number;
  skipped: boolean;
}

export interface RunInfo {
  id: string;
  kind: 'run' | 'trial';
  sweepId: string | null;
  trial: number | null;
  mode: RunMode;
  /** compute threads of a 'threads' run */
  threads?: number;
  model: string;
  dataset: string;
  batchSize: number;
  epochs: number;
  stepsPerEpoch: number;
  totalSteps: number;
  /** the step the run started (or resumed) at */
  startStep: number;
  startedAt: number;
  endedAt: number | null;
  status: RunStatus;
  /** the last step done + 1, and the epoch in progress */
  step: number;
  epoch: number;
}

export interface TrialInfo {
  index: number;
  params: Record<string, unknown>;
  status: 'queued' | 'running' | 'finished' | 'stopped' | 'failed';
  value: number | null;
  valAccuracy: number | null;
  epochs: number;
  runId: string | null;
  // seeds (issue 16): with `seeds: K` value and valAccuracy are the means over the K seed runs
  /** `value` over the seed runs that have one: mean, sd, 95% interval (null before any) */
  spread?: Spread | null;
  /** `valAccuracy` over the seed runs */
  valAccuracySpread?: Spread | null;
  /** each seed run: seed index, run seed, run id, status, value, valAccuracy, epochs */
  seeds?: SeedRecord[];
}

export interface SweepInfo {
  id: string;
  metric: { name: string; goal: 'minimize' | 'maximize' };
  /** the parameters searched (the parallel coordinates' axes) */
  parameters: string[];
  total: number;
  startedAt: number;
  status: 'running' | 'finished';
}

export interface WorkerInfo {
  id: string;
  name: string;
  address: string;
  kernel: string | null;
  /** a Node process or a browser page (/join) */
  kind: 'node' | 'browser';
  /** a browser's navigator.userAgent (attacker-controlled text: escaped wherever it is shown);
   *  null for a Node worker */
  userAgent: string | null;
  state: 'handshake' | 'idle' | 'loading' | 'ready' | 'gone';
  /** compute threads in the worker's process (its hello; 1 for a worker that does not say) */
  threads: number;
  /** measured speed, samples per second (0: not measured yet), all its threads together */
  samplesPerSecond: number;
  /** last heartbeat answer, ms since 1970 */
  lastHeartbeat: number;
  connectedAt: number;
  job: string | null;
  goneAt?: number;
  reason?: string;
}

export type TelemetryEvent =
  | { type: 'run'; run: RunInfo }
  | { type: 'step'; runId: string; point: StepPoint }
  | { type: 'epoch'; runId: string; row: EpochRow }
  | { type: 'sweep'; sweep: SweepInfo }
  | { type: 'trial'; sweepId: string; trial: TrialInfo }
  | { type: 'worker-gone'; worker: WorkerInfo }
  /** counters: a worker lost mid-step (failure) and its work handed out again (reassignment) */
  | { type: 'failure'; runId: string; worker: string; reason: string }
  | { type: 'reassignment'; runId: string; microbatches: number };

export interface RunRecordLive {
  info: RunInfo;
  /** the most recent steps (at most STEP_HISTORY) */
  steps: StepPoint[];
  epochs: EpochRow[];
}

export interface Snapshot {
  now: number;
  runs: RunRecordLive[];
  sweep: SweepInfo | null;
  trials: TrialInfo[];
  workers: WorkerInfo[];
}

/** steps kept per run for late subscribers (curves); older ones stay in steps.csv */
export const STEP_HISTORY = 5000;
/** finished runs kept (a sweep's recent trials) */
const RUN_HISTORY = 30;
const GONE_HISTORY = 50;

/** The handle the run loop reports one run through. */
export interface RunTelemetry {
  started(
    info: Omit<RunInfo, 'id' | 'kind' | 'sweepId' | 'trial' | 'startedAt' | 'endedAt' | 'status' | 'step' | 'epoch'>,
  ): void;
  step(point: StepPoint): void;
  epoch(row: EpochRow): void;
  ended(status: RunStatus): void;
}

export class Telemetry extends EventEmitter<{ event: [TelemetryEvent] }> {
  private readonly runs = new Map<string, RunRecordLive>();
  private sweep: SweepInfo | null = null;
  private readonly trials = new Map<number, TrialInfo>();
  private readonly gone: WorkerInfo[] = [];
  /** the live workers, from the server (set by the server that owns this telemetry) */
  liveWorkers: () => WorkerInfo[] = () => [];

  constructor() {
    super();
    // subscribers come and go (dashboard clients): no leak warning for many of them
    this.setMaxListeners(0);
  }

  private publish(e: TelemetryEvent): void {
    this.emit('event', e);
  }

  forRun(
    id: string,
    kind: 'run' | 'trial' = 'run',
    sweepId: string | null = null,
    trial: number | null = null,
  ): RunTelemetry {
    return {
      started: (info) => {
        const run: RunInfo = {
          ...info,
          id,
          kind,
          sweepId,
          trial,
          startedAt: Date.now(),
          endedAt: null,
          status: 'running',
          step: info.startStep,
          epoch: Math.floor(info.startStep / Math.max(1, info.stepsPerEpoch)),
        };
        this.runs.delete(id);
        this.runs.set(id, { info: run, steps: [], epochs: [] });
        while (this.runs.size > RUN_HISTORY) this.runs.delete(this.runs.keys().next().value!);
        this.publish({ type: 'run', run });
      },
      step: (point) => {
        const r = this.runs.get(id);
        if (!r) return;
        r.steps.push(point);
        if (r.steps.length > STEP_HISTORY) r.steps.splice(0, r.steps.length - STEP_HISTORY);
        r.info.step = point.step + 1;
        r.info.epoch = point.epoch;
        this.publish({ type: 'step', runId: id, point });
      },
      epoch: (row) => {
        const r = this.runs.get(id);
        if (!r) return;
        r.epochs.push(row);
        this.publish({ type: 'epoch', runId: id, row });
      },
      ended: (status) => {
        const r = this.runs.get(id);
        if (!r) return;
        r.info.status = status;
        r.info.endedAt = Date.now();
        this.publish({ type: 'run', run: r.info });
      },
    };
  }

  sweepStarted(info: Omit<SweepInfo, 'startedAt' | 'status'>): void {
    this.sweep = { ...info, startedAt: Date.now(), status: 'running' };
    this.trials.clear();
    this.publish({ type: 'sweep', sweep: this.sweep });
  }

  sweepEnded(): void {
    if (!this.sweep) return;
    this.sweep.status = 'finished';
    this.publish({ type: 'sweep', sweep: this.sweep });
  }

  trial(t: TrialInfo): void {
    if (!this.sweep) return;
    this.trials.set(t.index, t);
    this.publish({ type: 'trial', sweepId: this.sweep.id, trial: t });
  }

  workerGone(w: WorkerInfo): void {
    this.gone.push(w);
    if (this.gone.length > GONE_HISTORY) this.gone.shift();
    this.publish({ type: 'worker-gone', worker: w });
  }

  failure(runId: string, worker: string, reason: string): void {
    this.publish({ type: 'failure', runId, worker, reason });
  }

  reassignment(runId: string, microbatches: number): void {
    this.publish({ type: 'reassignment', runId, microbatches });
  }

  /** Workers: the live ones, then the ones gone (most recent first). */
  workers(): WorkerInfo[] {
    return [...this.liveWorkers(), ...[...this.gone].reverse()];
  }

  snapshot(): Snapshot {
    return {
      now: Date.now(),
      runs: [...this.runs.values()],
      sweep: this.sweep,
      trials: [...this.trials.values()].sort((a, b) => a.index - b.index),
      workers: this.workers(),
    };
  }
}
