// The browser worker's page on the coordinator's port: GET /join (worker/browser/join.html),
// /join/page.css, /join/page.js and /join/agent.js (esbuild bundles of worker/browser/page.ts, the
// page's UI, and agent.ts, the Web Worker running the worker core: built once, on the first
// request, and kept in memory) and /join/kernels.wasm (the same wasm-simd kernels the Node
// processes run). All open: the page needs no token to load; its WebSocket handshake proves the
// token (HMAC over the server's nonce) without sending it, and the dataset route takes the
// connection's session ticket. Every response carries a strict Content-Security-Policy (a
// dedicated worker gets its own script's policy, so the bundles carry it too).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readKernelsWasm } from '../../shared/node/kernels-wasm.js';
import type { CoordinatorServer } from '../cluster/server.js';
import { type Cached, TEXT, cached, sendCached } from './static.js';

/** the bundles served, by the name of their entry in worker/browser/ */
export const JOIN_BUNDLES = ['page', 'agent'] as const;

/** worker/browser/: from the sources (coordinator/web/ → ../../worker/browser) or from the compiled
 *  dist/ (dist/coordinator/web/ → dist/worker/browser, where the build copies the page), else the
 *  package's own sources beside dist/ */
export function browserDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', '..', 'worker', 'browser'), join(here, '..', '..', '..', 'worker', 'browser')];
  return candidates.find((d) => existsSync(join(d, 'join.html'))) ?? candidates[0]!;
}

/** A host as the Host header may name it: a DNS name or an IPv4 address, or an IPv6 one in
 *  brackets, and a port. Anything else is left out of the policy. */
const HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(:\d{1,5})?$/;

/** The page's policy: only its own scripts, styles and worker, the kernels compiled from bytes
 *  ('wasm-unsafe-eval'), connections to its own origin only. CSP 3 lets 'self' match ws(s):// of
 *  the same host, but not every browser does yet, so the WebSocket origin is named too. */
export function joinPolicy(host: string | undefined, tls: boolean): string {
  const ws = host && HOST.test(host) ? ` ${tls ? 'wss' : 'ws'}://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    `connect-src 'self'${ws}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** files and bundles made once, on first use (a failure is retried on the next request) */
const made = new Map<string, Promise<Cached>>();
function once(key: string, make: () => Promise<Uint8Array>): Promise<Cached> {
  let p = made.get(key);
  if (!p) {
    p = make().then(cached);
    p.catch(() => made.delete(key));
    made.set(key, p);
  }
  return p;
}

/** esbuild's bundle of worker/browser/NAME.ts (NAME.js in the compiled dist/) for the browser */
export async function bundle(name: (typeof JOIN_BUNDLES)[number]): Promise<Uint8Array> {
  const dir = browserDir();
  const entry = [join(dir, `${name}.ts`), join(dir, `${name}.js`)].find((f) => existsSync(f));
  if (!entry) throw new Error(`the browser worker's entry ${join(dir, `${name}.ts`)} is missing`);
  // loaded only when a page is asked for: a coordinator nobody joins from a browser never loads it
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  return out.outputFiles[0]!.contents;
}

interface Served {
  type: string;
  make: () => Promise<Uint8Array>;
}

const SERVED: Record<string, Served> = {
  '/join': { type: TEXT('text/html'), make: () => readFile(join(browserDir(), 'join.html')) },
  '/join/page.css': { type: TEXT('text/css'), make: () => readFile(join(browserDir(), 'join.css')) },
  ...Object.fromEntries(
    JOIN_BUNDLES.map((b) => [`/join/${b}.js`, { type: TEXT('text/javascript'), make: () => bundle(b) }]),
  ),
  '/join/kernels.wasm': { type: 'application/wasm', make: async () => readKernelsWasm().bytes },
};

export function installJoin(server: CoordinatorServer): void {
  const serve = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const what = SERVED[url.pathname];
    if (!what) {
      res.writeHead(404, { 'content-type': TEXT('text/plain') });
      res.end('not found\n');
      return;
    }
    once(url.pathname, what.make).then(
      (file) =>
        sendCached(req, res, file, {
          'content-type': what.type,
          'cache-control': 'no-cache',
          'content-security-policy': joinPolicy(req.headers.host, server.o.tls !== null),
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'x-frame-options': 'DENY',
          // cross-origin isolation: SharedArrayBuffer for the page's compute threads
          'cross-origin-opener-policy': 'same-origin',
          'cross-origin-embedder-policy': 'require-corp',
        }),
      (e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        server.o.log.error(
          { event: 'join-error', path: url.pathname, err: message },
          `${url.pathname}: could not serve it: ${message}`,
        );
        res.writeHead(500, { 'content-type': TEXT('text/plain') });
        // the details (file paths) go to the log, not to an unauthenticated client
        res.end(`${url.pathname}: the coordinator could not serve it (its log says why)\n`);
      },
    );
  };
  server.route('GET', '/join', serve, { open: true });
  server.route('GET', '/join/*', serve, { open: true });
}
