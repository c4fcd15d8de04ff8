// The coordinator's side of browser workers, without a browser (test/e2e/browser-worker.test.ts
// drives real pages in Chromium): GET /join and its files are served to anyone with a strict
// Content-Security-Policy, the kernels are the very kernels.wasm the Node processes run, the
// bundles are built for a browser (no Node module in them); a hello from a browser without
// WebAssembly SIMD is refused with the sentence the page shows; a browser that joins is a worker
// like any other, shown with its kind and user agent in /api/state and /metrics, escaped.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NO_SIMD } from '../../coordinator/cluster/messages.js';
import { joinPolicy } from '../../coordinator/web/join.js';
import { PROTOCOL_VERSION, type AgentInfo } from '../../shared/protocol.js';
import { ROOT, tempDir, withFiles } from '../helpers/cli.js';
import { killAll, listeningPort, startCoordinator } from '../helpers/cluster.js';
import { HOSTILE_WORKER } from '../helpers/hostile.js';
import { Rogue, hmac, runtime } from '../helpers/rogue.js';

const CONFIG = join(
  withFiles({
    'run.yaml': `
seed: 3
data: { name: iris }
model: { hidden: [8], activation: tanh }
optimizer: { name: adam, lr: 0.01 }
batchSize: 16
microbatch: 8
epochs: 1
`,
  }),
  'run.yaml',
);
const TOKEN = 'browser-join-test-token-0123456789abcdef';
const TOKEN_FILE = join(withFiles({ token: TOKEN }), 'token');
/** a user agent that is markup, a quote, a backslash and a newline (the page sends what it likes) */
const HOSTILE_AGENT = `${HOSTILE_WORKER}\nMozilla/5.0`;

afterEach(killAll);

/** a coordinator that waits for `minWorkers` (so that joined workers stay idle), with a token */
async function coordinator(o: { minWorkers?: number; env?: Record<string, string> } = {}): Promise<{
  base: string;
  port: number;
  c: ReturnType<typeof startCoordinator>;
}> {
  const c = startCoordinator(
    [
      '--config',
      CONFIG,
      '--listen',
      '127.0.0.1:0',
      '--out',
      tempDir(),
      '--token-file',
      TOKEN_FILE,
      '--min-workers',
      String(o.minWorkers ?? 5),
    ],
    o.env,
  );
  const port = await listeningPort(c);
  return { base: `http://127.0.0.1:${port}`, port, c };
}

/** Say hello as a browser page would: the token's HMAC over the nonce, and an `agent`. */
async function browserHello(r: Rogue, agent: AgentInfo): Promise<void> {
  const challenge = await r.next('challenge');
  r.send({
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    name: r.name,
    runtime: runtime(),
    auth: new Uint8Array(hmac(TOKEN, challenge.nonce)),
    agent,
  });
}

describe('GET /join', () => {
  it('serves the page, its stylesheet, bundles and kernels to anyone, each with the strict policy', async () => {
    const { base, c } = await coordinator();
    // the dashboard needs the token; the page does not (its WebSocket handshake does)
    expect((await fetch(`${base}/`)).status).toBe(401);
    const want: Array<[string, string]> = [
      ['/join', 'text/html; charset=utf-8'],
      ['/join/page.css', 'text/css; charset=utf-8'],
      ['/join/page.js', 'text/javascript; charset=utf-8'],
      ['/join/agent.js', 'text/javascript; charset=utf-8'],
      ['/join/kernels.wasm', 'application/wasm'],
    ];
    const bodies = new Map<string, Buffer>();
    for (const [path, type] of want) {
      const r = await fetch(`${base}${path}`);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type'), path).toBe(type);
      expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
      const csp = new Map(
        r.headers
          .get('content-security-policy')!
          .split(';')
          .map((d) => d.trim().split(/\s+/))
          .map(([k, ...v]) => [k!, v.join(' ')]),
      );
      expect(csp.get('default-src'), path).toBe("'self'");
      expect(csp.get('script-src'), path).toBe("'self' 'wasm-unsafe-eval'");
      expect(csp.get('worker-src'), path).toBe("'self'");
      expect(csp.get('connect-src'), path).toBe(`'self' ws://127.0.0.1:${new URL(base).port}`);
      expect(csp.get('style-src'), path).toBe("'self'");
      expect(csp.get('img-src'), path).toBe("'self' data:");
      expect(csp.get('frame-ancestors'), path).toBe("'none'");
      bodies.set(path, Buffer.from(await r.arrayBuffer()));
      // a second request with the etag: 304, nothing sent again
      const again = await fetch(`${base}${path}`, { headers: { 'if-none-match': r.headers.get('etag')! } });
      expect(again.status, path).toBe(304);
    }
    // the kernels are the ones every Node process computes with (the same build, the same bits)
    expect(
      bodies.get('/join/kernels.wasm')!.equals(readFileSync(join(ROOT, 'shared/kernels/build/kernels.wasm'))),
    ).toBe(true);
    // the page loads only its own files: no inline script or style, nothing from elsewhere
    const page = bodies.get('/join')!.toString('utf8');
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(page).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//i);
    // the bundles are for a browser: no Node module imported, no require (the match, not the
    // bundle, in a failure message)
    for (const b of ['/join/page.js', '/join/agent.js']) {
      const js = bodies.get(b)!.toString('utf8');
      expect(/(\bfrom|\bimport\(?|\brequire\()\s*["']node:[a-z_/]+["']/.exec(js)?.[0] ?? null, b).toBeNull();
      expect(/\brequire\(\s*["'][^"']+["']\s*\)/.exec(js)?.[0] ?? null, b).toBeNull();
    }
    // a Host header that is not a host stays out of the policy
    expect(joinPolicy('x; script-src *', false)).toContain("connect-src 'self';");
    expect(joinPolicy('[::1]:7070', true)).toContain("connect-src 'self' wss://[::1]:7070;");
    expect((await fetch(`${base}/join/nothing.js`)).status).toBe(404);
    c.kill('SIGTERM');
  }, 60_000);
});

describe('a browser worker at the handshake', () => {
  it('without WebAssembly SIMD: refused with the sentence the page shows', async () => {
    const { port, c } = await coordinator();
    const r = await Rogue.connect(`ws://127.0.0.1:${port}`, { name: 'old-browser' });
    await browserHello(r, { kind: 'browser', userAgent: 'Mozilla/5.0 (old)', simd: false });
    const error = await r.next('error');
    expect(error).toEqual({ type: 'error', code: 'E_INCOMPATIBLE', message: NO_SIMD });
    expect(NO_SIMD).toBe(
      "this browser has no WebAssembly SIMD; gradwire's kernels need it — use a current Chrome, Firefox or Safari",
    );
    expect((await r.closed).code).toBe(4006);
    expect(r.all.some((m) => m.type === 'welcome')).toBe(false);
    const rejected = await c.waitForEvent('rejected', (e) => e.name === 'old-browser');
    expect(rejected).toMatchObject({ code: 'E_INCOMPATIBLE', kind: 'browser', simd: false });
    c.kill('SIGTERM');
  }, 30_000);

  it('a coordinator on the js kernels refuses a browser: it could not give the same bits', async () => {
    const { port, c } = await coordinator({ env: { GRADWIRE_KERNELS: 'js' } });
    const r = await Rogue.connect(`ws://127.0.0.1:${port}`, { name: 'page' });
    await browserHello(r, { kind: 'browser', userAgent: 'Mozilla/5.0', simd: true });
    expect((await r.next('error')).message).toMatch(
      /^this coordinator computes with the js kernels, .* so a browser cannot join it: start the coordinator with the wasm-simd kernels/,
    );
    c.kill('SIGTERM');
  }, 30_000);

  it('joins like any worker; /api/state and /metrics show its kind and user agent, escaped', async () => {
    const { base, port, c } = await coordinator();
    const page = await Rogue.connect(`ws://127.0.0.1:${port}`, { name: 'page-1' });
    await browserHello(page, { kind: 'browser', userAgent: HOSTILE_AGENT, simd: true });
    const welcome = await page.next('welcome');
    const job = await page.next('job');
    // the dataset route takes the connection's session ticket (not the token): what the page sends
    const blob = await fetch(`${base}${job.dataset.url}`, { headers: { 'x-gradwire-session': welcome.session } });
    expect(blob.status).toBe(200);
    expect((await blob.arrayBuffer()).byteLength).toBe(job.dataset.bytes);
    expect((await fetch(`${base}${job.dataset.url}`)).status).toBe(403);
    // and a Node worker (no agent in its hello) beside it
    const node = await Rogue.connect(`ws://127.0.0.1:${port}`, { name: 'node-1' });
    await node.join({ token: TOKEN });

    const joined = await c.waitForEvent('worker-joined', (e) => e.name === 'page-1');
    expect(joined).toMatchObject({ kind: 'browser', userAgent: HOSTILE_AGENT });
    expect(joined.msg).toContain('a browser page');
    expect(joined.msg).not.toContain('<img');

    const auth = { authorization: `Bearer ${TOKEN}` };
    const text = await (await fetch(`${base}/api/state`, { headers: auth })).text();
    const state = JSON.parse(text) as { workers: Array<{ name: string; kind: string; userAgent: string | null }> };
    const byName = new Map(state.workers.map((w) => [w.name, w]));
    expect(byName.get('page-1')).toMatchObject({ kind: 'browser', userAgent: HOSTILE_AGENT });
    expect(byName.get('node-1')).toMatchObject({ kind: 'node', userAgent: null });
    expect(text).toContain(JSON.stringify(HOSTILE_AGENT)); // JSON escapes the quote, backslash, newline

    const metrics = await (await fetch(`${base}/metrics`, { headers: auth })).text();
    const info = metrics.split('\n').filter((l) => l.startsWith('gradwire_worker_info{'));
    // Prometheus' text format escapes \ " and a newline in a label value; one line per worker
    const escaped = HOSTILE_AGENT.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
    expect(info).toHaveLength(2);
    expect(info).toContain(
      `gradwire_worker_info{worker="${joined.worker}",name="page-1",kind="browser",user_agent="${escaped}"} 1`,
    );
    expect(info.find((l) => l.includes('name="node-1"'))).toMatch(/kind="node",user_agent=""\} 1$/);
    page.close();
    node.close();
    c.kill('SIGTERM');
  }, 30_000);
});
