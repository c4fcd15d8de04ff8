// One worker's connection as the coordinator's server sees it: its id and name, handshake
// state, runtime, compute threads, heartbeat and byte counts, and sending a message to it; and
// its seats: each job the worker holds, on some of its threads. A single run gives every worker
// one seat with all its threads; a sweep gives a worker with N threads up to N seats, one per
// trial (or fewer, larger ones: a trial may take several threads of one worker). The step
// scheduler (distributed.ts) works with seats: a seat's share of a step, its measured speed,
// the weights it holds.
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { type AgentInfo, encodeParts, sendParts, type RuntimeInfo, type ToWorker } from '../../shared/protocol.js';
import type { WorkerInfo } from '../run/telemetry.js';

export type WorkerState = 'handshake' | 'idle' | 'loading' | 'ready';

let nextWorker = 1;

/** One job on one worker: the threads it uses there, its state and measured speed. */
export class Seat {
  state: 'loading' | 'ready' = 'loading';
  /** measured speed: samples per millisecond of compute (EMA); 0 = not measured yet */
  speed = 0;
  /** the step whose weights this seat holds (-1: none) */
  paramsStep = -1;

  constructor(
    readonly conn: WorkerConn,
    readonly jobId: string,
    readonly threads: number,
  ) {}

  /** the worker's id: a worker has at most one seat per job */
  get id(): string {
    return this.conn.id;
  }
  get name(): string {
    return this.conn.name;
  }
  get connectedAt(): number {
    return this.conn.connectedAt;
  }
  send(msg: ToWorker): void {
    this.conn.send(msg);
  }
  label(): string {
    return this.conn.label();
  }
}

export class WorkerConn {
  readonly id = `w${nextWorker++}`;
  name = '?';
  /** authenticated (hello accepted) */
  joined = false;
  runtime: RuntimeInfo | null = null;
  /** what its hello said it is (absent there: a Node worker of an earlier build) */
  agent: AgentInfo | null = null;
  /** compute threads in the worker's process (from its hello; absent there: 1) */
  threads = 1;
  readonly session = randomBytes(18).toString('base64url');
  readonly nonce = randomBytes(32);
  lastPong = Date.now();
  bytesIn = 0;
  bytesOut = 0;
  /** the jobs this worker holds (or is loading), oldest first */
  seats: Seat[] = [];
  /** every job ever offered on this connection: a late message for one it has left is dropped
   *  quietly, one for a job it never had is out of place */
  readonly offered = new Set<string>();
  connectedAt = Date.now();

  constructor(
    readonly ws: WebSocket,
    readonly address: string,
  ) {}

  /** handshake until its hello is accepted; then ready when a seat is ready, loading when one
   *  loads, idle when it holds no job */
  get state(): WorkerState {
    if (!this.joined) return 'handshake';
    if (this.seats.some((s) => s.state === 'ready')) return 'ready';
    return this.seats.length > 0 ? 'loading' : 'idle';
  }

  /** a Node process or a browser page */
  get kind(): 'node' | 'browser' {
    return this.agent?.kind ?? 'node';
  }

  /** threads no seat uses */
  get freeThreads(): number {
    return this.threads - this.seats.reduce((n, s) => n + s.threads, 0);
  }

  /** this worker's seat for a job */
  seat(jobId: string): Seat | undefined {
    return this.seats.find((s) => s.jobId === jobId);
  }

  /** measured speed of all its seats together, samples per millisecond */
  get speed(): number {
    return this.seats.reduce((n, s) => n + s.speed, 0);
  }

  /** the server's byte counter (all connections) */
  onSent: (bytes: number) => void = () => {};

  send(msg: ToWorker): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    sendParts(this.ws, encodeParts(msg), (n) => {
      this.bytesOut += n;
      this.onSent(n);
    });
  }

  /** what the dashboard shows of this worker */
  info(): WorkerInfo {
    return {
      id: this.id,
      name: this.name,
      address: this.address,
      kernel: this.runtime?.kernel ?? null,
      kind: this.kind,
      userAgent: this.agent?.userAgent ?? null,
      threads: this.threads,
      state: this.state,
      samplesPerSecond: Math.round(this.speed * 1000),
      lastHeartbeat: this.lastPong,
      connectedAt: this.connectedAt,
      job: this.seats.length === 0 ? null : this.seats.map((s) => s.jobId).join(', '),
    };
  }

  label(): string {
    return `${this.name} (${this.id}, ${this.address})`;
  }
}
