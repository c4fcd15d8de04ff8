// The HTTP side of the coordinator's port (the WebSocket upgrade rides on the same server):
// /healthz (open; its content comes from the callback the server was given), the dataset blobs
// by sha256 (to connected, authenticated workers only), and the routes other rooms add (login
// page, dashboard, /metrics) behind the token gate.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SESSION_COOKIE, sameSecret, sessionValue } from './auth.js';

/** An HTTP route of the coordinator's port (dashboard, /metrics): `url` is the parsed URL. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

interface Route {
  handler: RouteHandler;
  open: boolean;
}

/** What the HTTP side asks of the rest of the server. */
export interface HttpSide {
  /** the token routes need (null: none), and whether the dashboard and /metrics are open anyway */
  token: string | null;
  publicDashboard: boolean;
  /** the JSON body of /healthz */
  healthz(): Record<string, unknown>;
  /** is this the session ticket of a connected, authenticated worker? */
  knownSession(session: string | string[] | undefined): boolean;
  /** the dataset blob with this sha256 of a known job, or null */
  dataset(sha256: string): Uint8Array | null;
}

/** The routes of one port and the token gate in front of them. */
export class HttpRoutes {
  private readonly routes = new Map<string, Route>();

  constructor(private readonly side: HttpSide) {}

  /** Serve `path` (exact, or a prefix when it ends with '/*') for `method`. Routes need the
   *  token when one is configured (Authorization: Bearer, or the login cookie) unless `open` or
   *  --public-dashboard. */
  add(method: 'GET' | 'POST', path: string, handler: RouteHandler, o: { open?: boolean } = {}): void {
    this.routes.set(`${method} ${path}`, { handler, open: o.open ?? false });
  }

  private find(method: string, path: string): Route | undefined {
    const exact = this.routes.get(`${method} ${path}`);
    if (exact) return exact;
    for (const [key, r] of this.routes) {
      if (key.endsWith('/*') && `${method} ${path}`.startsWith(key.slice(0, -1))) return r;
    }
    return undefined;
  }

  /** Does this request carry the token (bearer header) or the dashboard's session cookie? */
  authorized(req: IncomingMessage): boolean {
    const token = this.side.token;
    if (token === null || this.side.publicDashboard) return true;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && sameSecret(auth.slice(7).trim(), token)) return true;
    const cookie = (req.headers.cookie ?? '')
      .split(';')
      .map((p) => p.trim())
      .find((p) => p.startsWith(`${SESSION_COOKIE}=`));
    return cookie !== undefined && sameSecret(cookie.slice(SESSION_COOKIE.length + 1), sessionValue(token));
  }

  /** Answer one HTTP request: /healthz, a dataset blob, a route, or 404. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(this.side.healthz()));
      return;
    }
    const m = /^\/datasets\/([0-9a-f]{64})$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      if (!this.side.knownSession(req.headers['x-gradwire-session'])) {
        res.writeHead(403, { 'content-type': 'text/plain' });
        res.end('a dataset is served to connected, authenticated workers only (x-gradwire-session)\n');
        return;
      }
      const blob = this.side.dataset(m[1]!);
      if (!blob) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end(`no dataset ${m[1]} here\n`);
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': blob.byteLength,
      });
      res.end(blob);
      return;
    }
    const route = this.find(req.method ?? 'GET', url.pathname);
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
