// The live dashboard on the coordinator's port: a read-only page at `/` (static files from
// coordinator/web/dashboard/: the page, its stylesheet and its script's ES modules, each under
// /assets/; ECharts from node_modules — never a CDN), `/api/state` (the telemetry snapshot as
// JSON) and `/api/events` (server-sent events: a `snapshot`, then every telemetry
// event as it happens, step points batched every STEP_FLUSH_MS, and the worker list every
// second). The server's gate applies (token: bearer header or the login cookie, unless
// --public-dashboard); nothing served here contains the token.
//
// Cost to training: nothing while no page is open (no telemetry listener). With pages open,
// one listener for all of them: a step is an array push; every STEP_FLUSH_MS the batch is
// serialised once and the same text written to every client. A client whose socket is backed
// up (a slow browser, a stalled proxy) is skipped, and gets a fresh snapshot once it drains.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CoordinatorServer } from '../cluster/server.js';
import type { StepPoint, Telemetry, TelemetryEvent } from '../run/telemetry.js';
import { type Cached, TEXT, cached, sendCached } from './static.js';

/** step points are batched and sent at most this often */
export const STEP_FLUSH_MS = 250;
/** the live worker list (speeds, heartbeats) is sent this often */
export const WORKERS_EVERY_MS = 1000;
/** an SSE comment this often, so that proxies keep an idle stream */
const PING_EVERY_MS = 15_000;
/** bytes waiting in a client's socket beyond which it is skipped until it drains */
const MAX_BACKLOG = 1 << 20;
/** the browser's reconnection delay after a dropped stream, ms */
const RETRY_MS = 3000;

/** coordinator/web/dashboard/: next to this file (tsx; dist/ when the build copies it there),
 *  or the sources' folder from dist/coordinator/web/ */
export function dashboardDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'dashboard'), join(here, '..', '..', '..', 'coordinator', 'web', 'dashboard')];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0]!;
}

interface Asset {
  file: () => string;
  type: string;
  cache: string;
}

/** the page's script: ES modules, dashboard.js the entry (index.html loads it with type="module") */
export const DASHBOARD_MODULES = ['dashboard.js', 'state.js', 'format.js', 'header.js', 'tables.js', 'charts.js'];
const ASSETS: Record<string, Asset> = {
  '/': { file: () => join(dashboardDir(), 'index.html'), type: TEXT('text/html'), cache: 'no-cache' },
  ...Object.fromEntries(
    DASHBOARD_MODULES.map((f) => [
      `/assets/${f}`,
      { file: () => join(dashboardDir(), f), type: TEXT('text/javascript'), cache: 'no-cache' },
    ]),
  ),
  '/assets/dashboard.css': {
    file: () => join(dashboardDir(), 'dashboard.css'),
    type: TEXT('text/css'),
    cache: 'no-cache',
  },
  '/assets/echarts.min.js': {
    file: () => createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js'),
    type: TEXT('text/javascript'),
    cache: 'public, max-age=86400',
  },
};

// the page runs only its own scripts; ECharts sets inline styles, and the icon is a data: URL
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** files read once, on first use */
const loaded = new Map<string, Promise<Cached>>();
function load(path: string, asset: Asset): Promise<Cached> {
  let p = loaded.get(path);
  if (!p) {
    p = readFile(asset.file()).then(cached);
    p.catch(() => loaded.delete(path)); // a missing file is retried on the next request
    loaded.set(path, p);
  }
  return p;
}

function serveAsset(req: IncomingMessage, res: ServerResponse, path: string): void {
  const asset = ASSETS[path];
  if (!asset) {
    res.writeHead(404, { 'content-type': TEXT('text/plain') });
    res.end('not found\n');
    return;
  }
  load(path, asset).then(
    (file) =>
      sendCached(req, res, file, { 'content-type': asset.type, 'cache-control': asset.cache, ...SECURITY_HEADERS }),
    (e: unknown) => {
      res.writeHead(500, { 'content-type': TEXT('text/plain') });
      res.end(`the dashboard's file ${path} is missing: ${(e as Error).message}\n`);
    },
  );
}

function frame(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}

interface Client {
  res: ServerResponse;
  /** skipped (backed up) until its socket drains; then it gets a fresh snapshot */
  stale: boolean;
}

/** The server-sent events of one coordinator: one telemetry listener and one serialisation
 *  for all the pages connected. */
export class EventHub {
  private readonly clients = new Set<Client>();
  /** steps since the last flush, in order */
  private pending: Array<[string, StepPoint]> = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private workersTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly telemetry: Telemetry) {}

  get size(): number {
    return this.clients.size;
  }

  private readonly onEvent = (e: TelemetryEvent): void => {
    if (e.type === 'step') {
      this.pending.push([e.runId, e.point]);
      if (!this.flushTimer) this.flushTimer = setTimeout(this.flush, STEP_FLUSH_MS).unref();
      return;
    }
    // the steps before this event go first: the page sees events in the order they happened
    this.flush();
    this.broadcast(frame(e.type, JSON.stringify(e)));
  };

  private readonly flush = (): void => {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.pending.length === 0) return;
    const byRun: Record<string, StepPoint[]> = {};
    for (const [run, p] of this.pending) {
      byRun[run] ??= [];
      byRun[run].push(p);
    }
    this.pending = [];
    this.broadcast(frame('steps', JSON.stringify({ runs: byRun })));
  };

  private readonly tick = (): void => {
    if (this.clients.size === 0) return;
    this.broadcast(frame('workers', JSON.stringify({ now: Date.now(), workers: this.telemetry.workers() })));
  };

  private readonly ping = (): void => {
    this.broadcast(`: ping ${Date.now()}\n\n`);
  };

  private broadcast(chunk: string): void {
    for (const c of this.clients) this.send(c, chunk);
  }

  private send(c: Client, chunk: string): void {
    if (c.stale || c.res.writableEnded || c.res.destroyed) return;
    if (c.res.writableLength > MAX_BACKLOG) {
      // its socket is not keeping up: drop what it would get, resynchronise once it drains
      c.stale = true;
      c.res.once('drain', () => {
        if (!this.clients.has(c)) return;
        c.stale = false;
        this.sendSnapshot(c);
      });
      return;
    }
    c.res.write(chunk);
  }

  private sendSnapshot(c: Client): void {
    this.send(c, frame('snapshot', JSON.stringify(this.telemetry.snapshot())));
  }

  /** GET /api/events */
  subscribe(req: IncomingMessage, res: ServerResponse): void {
    if (this.closed) {
      res.writeHead(503, { 'content-type': TEXT('text/plain') });
      res.end('the coordinator is shutting down\n');
      return;
    }
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);
    res.writeHead(200, {
      'content-type': TEXT('text/event-stream'),
      'cache-control': 'no-cache, no-store, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...SECURITY_HEADERS,
    });
    if (this.clients.size === 0) this.start();
    // steps already buffered go to the pages connected before; the snapshot holds them
    this.flush();
    const c: Client = { res, stale: false };
    this.clients.add(c);
    res.write(`retry: ${RETRY_MS}\n\n`);
    this.sendSnapshot(c);
    this.send(c, frame('workers', JSON.stringify({ now: Date.now(), workers: this.telemetry.workers() })));
    const leave = (): void => {
      if (!this.clients.delete(c)) return;
      if (this.clients.size === 0) this.stop();
    };
    req.on('close', leave);
    res.on('close', leave);
    res.on('error', leave);
  }

  private start(): void {
    this.telemetry.on('event', this.onEvent);
    this.workersTimer = setInterval(this.tick, WORKERS_EVERY_MS).unref();
    this.pingTimer = setInterval(this.ping, PING_EVERY_MS).unref();
  }

  private stop(): void {
    this.telemetry.off('event', this.onEvent);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.workersTimer) clearInterval(this.workersTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.flushTimer = this.workersTimer = this.pingTimer = null;
    this.pending = [];
  }

  /** The coordinator is closing: last steps, a `bye` (the page stops reconnecting), end. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    this.broadcast(frame('bye', JSON.stringify({ now: Date.now() })));
    for (const c of [...this.clients]) c.res.end();
    this.clients.clear();
    this.stop();
  }
}

export function installDashboard(server: CoordinatorServer, telemetry: Telemetry): void {
  const hub = new EventHub(telemetry);
  server.route('GET', '/', (req, res) => serveAsset(req, res, '/'));
  server.route('GET', '/assets/*', (req, res, url) => serveAsset(req, res, url.pathname));
  server.route('GET', '/api/state', (_req, res) => {
    res.writeHead(200, {
      'content-type': TEXT('application/json'),
      'cache-control': 'no-store',
      ...SECURITY_HEADERS,
    });
    res.end(JSON.stringify(telemetry.snapshot()));
  });
  server.route('GET', '/api/events', (req, res) => hub.subscribe(req, res));
  // say goodbye on the open event streams (the page then stops reconnecting)
  server.onClosing(() => hub.close());
}
