// The coordinator's network side, connection lifecycle: one HTTP(S) server on one port
// carrying the worker WebSocket (http.ts: /healthz, the dataset blobs, routes). It accepts
// connections, sends the challenge, decodes and validates every frame (messages.ts handles
// them: handshake, ready, step answers), keeps a heartbeat, hands out jobs, and reports to its
// listener which workers are ready, which messages they sent and which are gone. One bad worker
// or frame is logged and its connection closed; nothing else is disturbed.
import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WorkerInfo } from '../run/telemetry.js';
import { kernelFacts, type KernelVariant } from '../../shared/kernels/index.js';
import { weakToken } from '../../shared/token.js';
import { isLoopback } from './auth.js';
import { HttpRoutes, type RouteHandler } from './http.js';
import { handleMessage, type MessageSide, type StepMessage } from './messages.js';
import { Seat, WorkerConn } from './worker-conn.js';
import {
  CLOSE,
  FrameError,
  PROTOCOL_VERSION,
  decodeToCoordinator,
  frameLimit,
  type ErrorCode,
  type RuntimeInfo,
  type ToCoordinator,
} from '../../shared/protocol.js';

/** What /healthz reports of the run or sweep the server serves: its state (running it, or done
 *  with it and staying up: --stay) and details (run id, counters). The run's owner (the pool)
 *  provides it; the server only asks. */
export interface HealthReport {
  state: 'running' | 'done';
  detail?: Record<string, unknown>;
}

export interface ServerOptions {
  host: string;
  port: number;
  token: string | null;
  tls: { cert: Buffer; key: Buffer } | null;
  log: Logger;
  /** this process's runtime and kernel variant; kernelBuild and math are measured here when absent */
  runtime: RuntimeInfo;
  /** ping interval and the silence after which a worker is dropped */
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  /** largest frame accepted; default MAX_FRAME_BYTES, or GRADWIRE_MAX_FRAME_BYTES (tests) */
  maxFrameBytes?: number;
  /** serve the dashboard and /metrics without the token (--public-dashboard) */
  publicDashboard?: boolean;
  /** what /healthz says of the run or sweep, asked on each request (default: running, no details) */
  health?: () => HealthReport;
}

export type { RouteHandler } from './http.js';
export type { StepMessage } from './messages.js';

export interface JobOffer {
  jobId: string;
  config: Record<string, unknown>;
  sha256: string;
  blob: Uint8Array;
}

export { Seat, WorkerConn, type WorkerState } from './worker-conn.js';

export interface ServerEvents {
  /** a seat (a job on a worker) is loaded and ready for steps */
  ready: [Seat];
  /** a worker authenticated and has no job: the scheduler may give it one */
  idle: [WorkerConn];
  /** a seat is lost with its worker's connection (each seat of a worker that leaves) */
  gone: [Seat, string];
  /** an authenticated worker left (after the 'gone' of each of its seats) */
  left: [WorkerConn, string];
  message: [Seat, StepMessage];
}

export class CoordinatorServer extends EventEmitter<ServerEvents> {
  readonly conns = new Map<string, WorkerConn>();
  private http: Server | null = null;
  private wss: WebSocketServer | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  /** jobs workers may be given, by id; `job` is the one every worker gets (single runs) */
  private readonly jobs = new Map<string, JobOffer>();
  private job: JobOffer | null = null;
  private rejected = 0;
  private received = 0;
  private sent = 0;
  readonly maxFrameBytes: number;
  private readonly routes: HttpRoutes;
  private readonly closing: Array<() => void> = [];
  /** close() has begun: the connections it cuts are not a worker's failure */
  private shuttingDown = false;
  /** what workers' runtimes are compared with: o.runtime, completed */
  readonly runtime: RuntimeInfo;
  /** what message handling (messages.ts) may do to this server */
  private readonly side: MessageSide;

  /** frames refused (undecodable, invalid, out of place), over all connections since the start */
  get rejectedFrames(): number {
    return this.rejected;
  }
  /** bytes received from and sent to workers, over all connections since the start */
  get bytesIn(): number {
    return this.received;
  }
  get bytesOut(): number {
    return this.sent;
  }

  /** the connected workers as the telemetry describes them */
  workerInfos(): WorkerInfo[] {
    return [...this.conns.values()].map((c) => c.info());
  }

  constructor(readonly o: ServerOptions) {
    super();
    const given = Object.fromEntries(Object.entries(o.runtime).filter(([, v]) => v !== undefined));
    this.runtime = { ...kernelFacts(o.runtime.kernel as KernelVariant), ...given } as RuntimeInfo;
    this.maxFrameBytes = o.maxFrameBytes ?? frameLimit(process.env.GRADWIRE_MAX_FRAME_BYTES);
    if (!o.token && !isLoopback(o.host)) {
      throw new Error(
        `refusing to listen on ${o.host} without a token: workers beyond loopback must authenticate. Give --token-file FILE (or GRADWIRE_TOKEN), or listen on 127.0.0.1`,
      );
    }
    const weak = o.token && !isLoopback(o.host) ? weakToken(o.token) : null;
    if (weak) throw new Error(`refusing to listen on ${o.host} with a weak token: ${weak}`);
    this.routes = new HttpRoutes({
      token: o.token,
      publicDashboard: o.publicDashboard ?? false,
      healthz: () => {
        const h = o.health?.() ?? { state: 'running' };
        return { status: 'ok', state: h.state, workers: this.readyWorkers().length, ...h.detail };
      },
      knownSession: (session) => [...this.conns.values()].some((c) => c.joined && c.session === session),
      dataset: (sha256) => [...this.jobs.values()].find((j) => j.sha256 === sha256)?.blob ?? null,
    });
    this.side = {
      token: o.token,
      runtime: this.runtime,
      log: o.log,
      reject: (c, code, closeCode, message, detail) => this.reject(c, code, closeCode, message, detail),
      unexpected: (c, type) => this.unexpected(c, type),
      rejectedFrame: () => {
        this.rejected++;
      },
      joined: (c) => {
        if (this.job) this.offer(c, this.job, c.threads, true);
        else this.emit('idle', c);
      },
      ready: (c) => this.emit('ready', c),
      message: (c, msg) => this.emit('message', c, msg),
    };
  }

  async start(): Promise<number> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.routes.serve(req, res);
    this.http = this.o.tls
      ? createHttpsServer({ cert: this.o.tls.cert, key: this.o.tls.key }, handler)
      : createHttpServer(handler);
    this.wss = new WebSocketServer({
      server: this.http,
      maxPayload: this.maxFrameBytes,
      perMessageDeflate: false,
    });
    this.wss.on('connection', (ws, req) => this.accept(ws, req));
    // listen errors (EADDRINUSE, ...) reach the http server's listener below; the ws server
    // re-emits them, and an unhandled 'error' would crash the process
    this.wss.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      this.http!.once('error', reject);
      this.http!.listen(this.o.port, this.o.host, () => resolve());
    });
    this.heartbeat = setInterval(() => this.beat(), this.o.heartbeatMs);
    return (this.http.address() as AddressInfo).port;
  }

  /** Run fn when the server starts closing (before connections are cut). */
  onClosing(fn: () => void): void {
    this.closing.push(fn);
  }

  async close(): Promise<void> {
    this.shuttingDown = true;
    for (const fn of this.closing.splice(0)) fn();
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const c of this.conns.values()) c.ws.close(CLOSE.SHUTDOWN, 'coordinator shutting down');
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => {
      if (!this.http) return resolve();
      this.http.close(() => resolve());
      // long-lived HTTP responses (dashboard event streams) would keep close() waiting
      this.http.closeAllConnections();
    });
  }

  /** Offer a job to every connected worker and to those that connect later. */
  setJob(job: JobOffer | null): void {
    this.job = job;
    if (!job) return;
    this.jobs.set(job.jobId, job);
    for (const c of this.conns.values()) if (c.joined) this.offer(c, job, c.threads, true);
  }

  /** Make a job known (its dataset is served) without offering it to anyone yet. */
  addJob(job: JobOffer): void {
    this.jobs.set(job.jobId, job);
  }

  removeJob(jobId: string): void {
    this.jobs.delete(jobId);
  }

  /** Give `threads` of one worker's free threads to a job (sweeps: each trial has its own
   *  seats, beside the worker's others). */
  assign(c: WorkerConn, jobId: string, threads: number): Seat {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    if (c.seat(jobId)) throw new Error(`worker ${c.id} already has job ${jobId}`);
    return this.offer(c, job, threads, false);
  }

  /** The job is done with this seat: the worker frees its threads and stays. */
  release(seat: Seat): void {
    const c = seat.conn;
    const i = c.seats.indexOf(seat);
    if (i < 0) return;
    c.seats.splice(i, 1);
    c.send({ type: 'release', jobId: seat.jobId });
  }

  /** workers with a ready seat (of one job when given) */
  readyWorkers(jobId?: string): WorkerConn[] {
    return [...this.conns.values()].filter((c) =>
      c.seats.some((s) => s.state === 'ready' && (jobId === undefined || s.jobId === jobId)),
    );
  }

  /** the ready seats of one job */
  readySeats(jobId: string): Seat[] {
    const out: Seat[] = [];
    for (const c of this.conns.values()) {
      const s = c.seat(jobId);
      if (s?.state === 'ready') out.push(s);
    }
    return out;
  }

  /** authenticated workers, whatever their jobs */
  workers(): WorkerConn[] {
    return [...this.conns.values()].filter((c) => c.joined);
  }

  /** Drop a worker: log why (with `detail` in the log line), tell it, close. */
  reject(
    c: WorkerConn,
    code: ErrorCode,
    closeCode: number,
    message: string,
    detail: Record<string, unknown> = {},
  ): void {
    this.o.log.error(
      { event: 'rejected', worker: c.id, name: c.name, address: c.address, code, ...detail },
      `worker ${c.label()}: ${message}`,
    );
    c.send({ type: 'error', code, message });
    c.ws.close(closeCode, message.slice(0, 120));
    this.drop(c, message);
  }

  /** Offer a job on `threads` of the worker's threads; `replace`: in place of every job it
   *  holds (a single run), else beside them (the worker holds jobs while their threads fit). */
  private offer(c: WorkerConn, job: JobOffer, threads: number, replace: boolean): Seat {
    const seat = new Seat(c, job.jobId, threads);
    if (replace) c.seats = [];
    else c.seats = c.seats.filter((s) => s.jobId !== job.jobId);
    c.seats.push(seat);
    c.offered.add(job.jobId);
    c.send({
      type: 'job',
      jobId: job.jobId,
      config: job.config,
      dataset: { sha256: job.sha256, url: `/datasets/${job.sha256}`, bytes: job.blob.byteLength },
      threads,
    });
    return seat;
  }

  /** Serve `path` (exact, or a prefix when it ends with '/*') for `method` on this port. Routes
   *  need the token when one is configured (Authorization: Bearer, or the login cookie) unless
   *  `open` or --public-dashboard. */
  route(method: 'GET' | 'POST', path: string, handler: RouteHandler, o: { open?: boolean } = {}): void {
    this.routes.add(method, path, handler, o);
  }

  /** Does this request carry the token (bearer header) or the dashboard's session cookie? */
  authorized(req: IncomingMessage): boolean {
    return this.routes.authorized(req);
  }

  private drop(c: WorkerConn, reason: string): void {
    if (!this.conns.delete(c.id)) return;
    if (!c.joined) return;
    for (const s of c.seats) this.emit('gone', s, reason);
    this.emit('left', c, reason);
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const c = new WorkerConn(ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`);
    c.onSent = (n) => {
      this.sent += n;
    };
    this.conns.set(c.id, c);
    const handshakeTimer = setTimeout(() => {
      if (c.state === 'handshake') this.reject(c, 'E_AUTH', CLOSE.AUTH_FAILED, 'no hello within 10 s');
    }, 10_000);
    ws.on('pong', () => {
      c.lastPong = Date.now();
    });
    ws.on('message', (data: Buffer, isBinary) => {
      c.bytesIn += data.byteLength;
      this.received += data.byteLength;
      if (!this.conns.has(c.id)) return;
      let msg: ToCoordinator;
      try {
        if (!isBinary) throw new FrameError('E_BAD_FRAME', 'text frame; the protocol is binary msgpack');
        msg = decodeToCoordinator(data, this.maxFrameBytes);
      } catch (e) {
        this.rejected++;
        const fe = e instanceof FrameError ? e : new FrameError('E_BAD_FRAME', String(e));
        this.reject(c, fe.code, CLOSE.BAD_FRAME, fe.message);
        return;
      }
      handleMessage(this.side, c, msg);
    });
    ws.on('close', (code) => {
      clearTimeout(handshakeTimer);
      if (this.conns.has(c.id)) {
        // a clean close (1000 normal, 1001 going away), ours (shutting down) or one after the
        // run is done is how a run ends: info; any other close cut a worker off: a warning
        const clean = code === CLOSE.NORMAL || code === 1001 || this.shuttingDown || this.o.health?.().state === 'done';
        this.o.log[clean ? 'info' : 'warn'](
          { event: 'disconnected', worker: c.id, name: c.name, code },
          `worker ${c.label()} disconnected (${code})`,
        );
        this.drop(c, `disconnected (${code})`);
      }
    });
    ws.on('error', (e: Error & { code?: string }) => {
      this.rejected++;
      if (e.code?.startsWith('WS_ERR_') && this.conns.has(c.id)) {
        // a frame the WebSocket layer refused (over the size limit, bad opcode, unmasked, ...):
        // ws closes the connection itself (1009, 1002, ...); log it like every rejected frame
        const limit =
          e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? ` (the limit is ${this.maxFrameBytes} bytes)` : '';
        this.o.log.error(
          {
            event: 'rejected',
            worker: c.id,
            name: c.name,
            address: c.address,
            code: 'E_BAD_FRAME',
            wsError: e.code,
          },
          `worker ${c.label()}: bad frame: ${e.message}${limit}`,
        );
        this.drop(c, `bad frame: ${e.message}`);
        return;
      }
      this.o.log.error(
        { event: 'socket-error', worker: c.id, name: c.name, err: e.message },
        `worker ${c.label()}: ${e.message}`,
      );
    });
    c.send({
      type: 'challenge',
      protocol: PROTOCOL_VERSION,
      nonce: c.nonce,
      authRequired: this.o.token !== null,
    });
  }

  unexpected(c: WorkerConn, type: string): void {
    this.rejected++;
    this.reject(c, 'E_UNEXPECTED', CLOSE.UNEXPECTED_MESSAGE, `unexpected "${type}" message in state ${c.state}`);
  }

  private beat(): void {
    const now = Date.now();
    for (const c of this.conns.values()) {
      if (now - c.lastPong > this.o.heartbeatTimeoutMs) {
        this.o.log.warn(
          { event: 'heartbeat-timeout', worker: c.id, name: c.name, silentMs: now - c.lastPong },
          `worker ${c.label()} silent for ${now - c.lastPong} ms: dropped`,
        );
        c.ws.terminate();
        this.drop(c, 'heartbeat timeout');
        continue;
      }
      if (c.ws.readyState === c.ws.OPEN) c.ws.ping();
    }
  }
}
