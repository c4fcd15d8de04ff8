// One worker's connection as the coordinator's server sees it: its id and name, handshake
// state, runtime, compute threads, measured speed, heartbeat and byte counts, the job it
// holds, and sending a message to it.
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { encodeParts, sendParts, type RuntimeInfo, type ToWorker } from '../../shared/protocol.js';
import type { WorkerInfo } from '../run/telemetry.js';

export type WorkerState = 'handshake' | 'idle' | 'loading' | 'ready';

let nextWorker = 1;

export class WorkerConn {
  readonly id = `w${nextWorker++}`;
  name = '?';
  state: WorkerState = 'handshake';
  runtime: RuntimeInfo | null = null;
  /** compute threads in the worker's process (from its hello; absent there: 1) */
  threads = 1;
  readonly session = randomBytes(18).toString('base64url');
  readonly nonce = randomBytes(32);
  /** measured speed: samples per millisecond of compute (EMA); 0 = not measured yet */
  speed = 0;
  lastPong = Date.now();
  bytesIn = 0;
  bytesOut = 0;
  /** the job this worker was given (null: none yet) */
  jobId: string | null = null;
  /** the step whose weights this worker holds (-1: none) */
  paramsStep = -1;
  connectedAt = Date.now();

  constructor(
    readonly ws: WebSocket,
    readonly address: string,
  ) {}

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
      threads: this.threads,
      state: this.state,
      samplesPerSecond: Math.round(this.speed * 1000),
      lastHeartbeat: this.lastPong,
      connectedAt: this.connectedAt,
      job: this.jobId,
    };
  }

  label(): string {
    return `${this.name} (${this.id}, ${this.address})`;
  }
}
