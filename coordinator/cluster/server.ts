// The coordinator's network side: one HTTP(S) server on one port carrying the worker
// WebSocket, the dataset blobs (by sha256) and /healthz. It authenticates workers (HMAC over a
// server nonce; the token never crosses the wire), checks protocol version and runtime,
// validates every frame, keeps a heartbeat, and reports to its listener which workers are
// ready, which messages they sent and which are gone. One bad worker or frame is logged and
// its connection closed; nothing else is disturbed.
import { timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WorkerInfo } from '../run/telemetry.js';
import { kernelFacts, type KernelVariant } from '../../shared/kernels/index.js';
import { weakToken } from '../../shared/token.js';
import { SESSION_COOKIE, authTag, isLoopback, sameSecret, sessionValue } from './auth.js';
import { WorkerConn } from './worker-conn.js';
import {
  CLOSE,
  FrameError,
  PROTOCOL_VERSION,
  decodeToCoordinator,
  frameLimit,
  runtimeMismatch,
  type ErrorCode,
  type RuntimeInfo,
  type ToCoordinator,
} from '../../shared/protocol.js';

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
}

/** An HTTP route of the coordinator's port (dashboard, /metrics): `url` is the parsed URL. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

export interface JobOffer {
  jobId: string;
  config: Record<string, unknown>;
  sha256: string;
  blob: Uint8Array;
}

export { WorkerConn, type WorkerState } from './worker-conn.js';

export interface ServerEvents {
  ready: [WorkerConn];
  /** a worker authenticated and has no job: the scheduler may give it one */
  idle: [WorkerConn];
  gone: [WorkerConn, string];
  message: [WorkerConn, Exclude<ToCoordinator, { type: 'hello' | 'ready' }>];
}

export class CoordinatorServer extends EventEmitter<ServerEvents> {
  readonly conns = new Map<string, WorkerConn>();
  private http: Server | null = null;
  private wss: WebSocketServer | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  /** jobs workers may be given, by id; `job` is the one every worker gets (single runs) */
  private readonly jobs = new Map<string, JobOffer>();
  private job: JobOffer | null = null;
  /** extra JSON for /healthz */
  health: () => Record<string, unknown> = () => ({});
  /** what the coordinator is doing, for /healthz and the status file: running its run or
   *  sweep, or done with it (and staying up: --stay) */
  state: 'running' | 'done' = 'running';
  rejectedFrames = 0;
  /** bytes received from and sent to workers, over all connections since the start */
  bytesIn = 0;
  bytesOut = 0;
  readonly maxFrameBytes: number;
  private readonly routes = new Map<string, { handler: RouteHandler; open: boolean }>();
  private readonly closing: Array<() => void> = [];
  /** what workers' runtimes are compared with: o.runtime, completed */
  readonly runtime: RuntimeInfo;

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
  }

  async start(): Promise<number> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.http_(req, res);
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
    for (const c of this.conns.values()) if (c.state !== 'handshake') this.offer(c, job);
  }

  /** Make a job known (its dataset is served) without offering it to anyone yet. */
  addJob(job: JobOffer): void {
    this.jobs.set(job.jobId, job);
  }

  removeJob(jobId: string): void {
    this.jobs.delete(jobId);
  }

  /** Give one worker a job (sweeps: each trial has its own workers). */
  assign(c: WorkerConn, jobId: string): void {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    this.offer(c, job);
  }

  /** ready workers, of one job when given */
  readyWorkers(jobId?: string): WorkerConn[] {
    return [...this.conns.values()].filter((c) => c.state === 'ready' && (jobId === undefined || c.jobId === jobId));
  }

  /** authenticated workers, whatever their job */
  workers(): WorkerConn[] {
    return [...this.conns.values()].filter((c) => c.state !== 'handshake');
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

  private offer(c: WorkerConn, job: JobOffer): void {
    c.state = 'loading';
    c.jobId = job.jobId;
    c.paramsStep = -1;
    c.send({
      type: 'job',
      jobId: job.jobId,
      config: job.config,
      dataset: { sha256: job.sha256, url: `/datasets/${job.sha256}`, bytes: job.blob.byteLength },
    });
  }

  /** Serve `path` (exact, or a prefix when it ends with '/*') for `method` on this port. Routes
   *  need the token when one is configured (Authorization: Bearer, or the login cookie) unless
   *  `open` or --public-dashboard. */
  route(method: 'GET' | 'POST', path: string, handler: RouteHandler, o: { open?: boolean } = {}): void {
    this.routes.set(`${method} ${path}`, { handler, open: o.open ?? false });
  }

  private findRoute(method: string, path: string): { handler: RouteHandler; open: boolean } | undefined {
    const exact = this.routes.get(`${method} ${path}`);
    if (exact) return exact;
    for (const [key, r] of this.routes) {
      if (key.endsWith('/*') && `${method} ${path}`.startsWith(key.slice(0, -1))) return r;
    }
    return undefined;
  }

  /** Does this request carry the token (bearer header) or the dashboard's session cookie? */
  authorized(req: IncomingMessage): boolean {
    const token = this.o.token;
    if (token === null || this.o.publicDashboard) return true;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && sameSecret(auth.slice(7).trim(), token)) return true;
    const cookie = (req.headers.cookie ?? '')
      .split(';')
      .map((p) => p.trim())
      .find((p) => p.startsWith(`${SESSION_COOKIE}=`));
    return cookie !== undefined && sameSecret(cookie.slice(SESSION_COOKIE.length + 1), sessionValue(token));
  }

  private drop(c: WorkerConn, reason: string): void {
    if (!this.conns.delete(c.id)) return;
    if (c.state !== 'handshake') this.emit('gone', c, reason);
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const c = new WorkerConn(ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`);
    c.onSent = (n) => {
      this.bytesOut += n;
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
      this.bytesIn += data.byteLength;
      if (!this.conns.has(c.id)) return;
      let msg: ToCoordinator;
      try {
        if (!isBinary) throw new FrameError('E_BAD_FRAME', 'text frame; the protocol is binary msgpack');
        msg = decodeToCoordinator(data, this.maxFrameBytes);
      } catch (e) {
        this.rejectedFrames++;
        const fe = e instanceof FrameError ? e : new FrameError('E_BAD_FRAME', String(e));
        this.reject(c, fe.code, CLOSE.BAD_FRAME, fe.message);
        return;
      }
      this.handle(c, msg);
    });
    ws.on('close', (code) => {
      clearTimeout(handshakeTimer);
      if (this.conns.has(c.id)) {
        this.o.log.warn(
          { event: 'disconnected', worker: c.id, name: c.name, code },
          `worker ${c.label()} disconnected (${code})`,
        );
        this.drop(c, `disconnected (${code})`);
      }
    });
    ws.on('error', (e: Error & { code?: string }) => {
      this.rejectedFrames++;
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

  private handle(c: WorkerConn, msg: ToCoordinator): void {
    if (c.state === 'handshake') {
      if (msg.type !== 'hello') return this.unexpected(c, msg.type);
      return this.hello(c, msg);
    }
    switch (msg.type) {
      case 'hello':
        return this.unexpected(c, msg.type);
      case 'ready':
        if (c.state !== 'loading' || msg.jobId !== c.jobId) {
          if (c.state === 'loading' && msg.jobId !== c.jobId) return; // ready for a job it was since moved off
          return this.unexpected(c, msg.type);
        }
        c.state = 'ready';
        this.o.log.info(
          { event: 'worker-ready', worker: c.id, name: c.name, address: c.address },
          `worker ${c.label()} ready`,
        );
        this.emit('ready', c);
        return;
      case 'job-failed':
        this.reject(c, 'E_JOB', CLOSE.INCOMPATIBLE, `could not load the job: ${msg.code}: ${msg.message}`);
        return;
      case 'error':
        this.o.log.error(
          { event: 'worker-error', worker: c.id, code: msg.code },
          `worker ${c.label()} reports ${msg.code}: ${msg.message}`,
        );
        return;
      default:
        if (c.state !== 'ready') return this.unexpected(c, msg.type);
        this.emit('message', c, msg);
    }
  }

  unexpected(c: WorkerConn, type: string): void {
    this.rejectedFrames++;
    this.reject(c, 'E_UNEXPECTED', CLOSE.UNEXPECTED_MESSAGE, `unexpected "${type}" message in state ${c.state}`);
  }

  private hello(c: WorkerConn, msg: Extract<ToCoordinator, { type: 'hello' }>): void {
    c.name = msg.name;
    if (msg.protocol !== PROTOCOL_VERSION) {
      return this.reject(
        c,
        'E_PROTOCOL_VERSION',
        CLOSE.PROTOCOL_VERSION,
        `speaks protocol version ${msg.protocol}; this coordinator speaks ${PROTOCOL_VERSION}: run the same gradwire version on both sides`,
      );
    }
    if (this.o.token !== null) {
      const want = authTag(this.o.token, c.nonce);
      const got = msg.auth;
      if (!got || got.byteLength !== want.byteLength || !timingSafeEqual(Buffer.from(got), want)) {
        return this.reject(c, 'E_AUTH', CLOSE.AUTH_FAILED, 'authentication failed: wrong or missing token');
      }
    }
    const mine = this.runtime;
    const theirs = msg.runtime;
    if (theirs.kernelBuild === undefined || theirs.math === undefined) {
      this.rejectedFrames++;
      return this.reject(
        c,
        'E_BAD_FRAME',
        CLOSE.BAD_FRAME,
        `invalid "hello" message: protocol ${PROTOCOL_VERSION} needs runtime.kernelBuild and runtime.math`,
      );
    }
    const mismatch = runtimeMismatch(mine, theirs);
    if (mismatch) {
      return this.reject(c, 'E_INCOMPATIBLE', CLOSE.INCOMPATIBLE, mismatch.message, {
        field: mismatch.field,
        workerValue: theirs[mismatch.field] ?? null,
        coordinatorValue: mine[mismatch.field] ?? null,
      });
    }
    c.runtime = msg.runtime;
    c.state = 'idle';
    c.send({ type: 'welcome', workerId: c.id, session: c.session });
    const sameRuntime = theirs.v8 === mine.v8 && theirs.math === mine.math;
    this.o.log.info(
      {
        event: 'worker-joined',
        worker: c.id,
        name: c.name,
        address: c.address,
        kernel: theirs.kernel,
        kernelBuild: theirs.kernelBuild,
        node: theirs.node,
        v8: theirs.v8,
        sameRuntime,
      },
      `worker ${c.label()} joined (kernel ${theirs.kernel}${theirs.kernelBuild ? ` build ${theirs.kernelBuild.slice(0, 12)}` : ''}, Node ${theirs.node}` +
        `${sameRuntime ? '' : `; the coordinator runs Node ${mine.node}: the same results, the ${theirs.kernel} kernels do not use the runtime's elementary functions`})`,
    );
    if (this.job) this.offer(c, this.job);
    else this.emit('idle', c);
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

  private http_(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: 'ok',
          state: this.state,
          workers: this.readyWorkers().length,
          ...this.health(),
        }),
      );
      return;
    }
    const m = /^\/datasets\/([0-9a-f]{64})$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      const session = req.headers['x-gradwire-session'];
      const known = [...this.conns.values()].some((c) => c.state !== 'handshake' && c.session === session);
      if (!known) {
        res.writeHead(403, { 'content-type': 'text/plain' });
        res.end('a dataset is served to connected, authenticated workers only (x-gradwire-session)\n');
        return;
      }
      const job = [...this.jobs.values()].find((j) => j.sha256 === m[1]);
      if (!job) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end(`no dataset ${m[1]} here\n`);
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': job.blob.byteLength,
      });
      res.end(job.blob);
      return;
    }
    const route = this.findRoute(req.method ?? 'GET', url.pathname);
    if (route) {
      if (!route.open && !this.authorized(req)) return this.denied(req, res, url);
      route.handler(req, res, url);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  }

  /** No token: a browser asking for a page goes to the login form, anything else gets 401. */
  private denied(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (req.method === 'GET' && (req.headers.accept ?? '').includes('text/html') && this.routes.has('GET /login')) {
      res.writeHead(303, { location: `/login?next=${encodeURIComponent(url.pathname + url.search)}` });
      res.end();
      return;
    }
    res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="gradwire"' });
    res.end(
      'this coordinator has a token: send it as "Authorization: Bearer TOKEN", or log in at /login (or start the coordinator with --public-dashboard)\n',
    );
  }
}
