// A browser tab is a worker (issue 18): headless Chromium (Debian's chromium through
// playwright-core) opens the coordinator's /join page, which proves the token with WebCrypto,
// fetches the dataset, loads the same wasm-simd kernels and computes microbatches with the
// shared worker core — and the weights are the --in-process reference's, bit for bit:
// (a) one Node worker and one page (the page idle past the heartbeat timeout first: the
//     browser answers the coordinator's pings by itself); the dashboard shows the page's kind
//     and user agent — a hostile one, as text;
// (b) the page closed mid-run: its microbatches are redone by the Node worker;
// (c) a second page joins mid-run;
// (d) a wrong token: refused, and the page says why; the right token (in the URL fragment)
//     appears in no request the page makes, no coordinator log line, and not in the page's
//     body or address once it has joined;
// (e) TLS: the page connects with wss://;
// (f) a browser without WebAssembly SIMD (simulated: WebAssembly.validate answers false for a
//     module with a SIMD instruction) is refused with the sentence the page shows;
// (g) a page with two compute threads (#threads=2).
// Several cases share one Chromium. Slow: run by `npm run test:e2e` (GRADWIRE_E2E=1) and in CI.
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NO_SIMD } from '../../coordinator/cluster/messages.js';
import { browserAvailable, launchBrowser } from '../helpers/browser.js';
import { HOSTILE_WORKER } from '../helpers/hostile.js';
import { opensslMissing, selfSignedCert } from '../helpers/tls.js';
import { spiralsRun } from '../helpers/fixtures.js';
import { tempDir, withFiles } from '../helpers/cli.js';
import {
  inProcessSha,
  killAll,
  listeningPort,
  type Proc,
  startCoordinator,
  startWorker,
  summary,
} from '../helpers/cluster.js';

const skip = browserAvailable();
if (skip !== null) console.warn(`browser worker tests skipped: ${skip}`);

// spirals: 2400 training samples, batch 48, microbatch 8 (6 microbatches a step), BatchNorm
// (SyncBN rounds through the page too) and dropout (masks by global sample index)
const run = spiralsRun;
const shortFile = join(withFiles({ 'run.yaml': run(2) }), 'run.yaml');
// long enough for a page to be closed, or to load and join, while it runs
const longFile = join(withFiles({ 'run.yaml': run(6) }), 'run.yaml');
const reference = skip === null ? { short: await inProcessSha(shortFile), long: await inProcessSha(longFile) } : null;

const TOKEN = 'browser-e2e-token-7f3a9c1d5e2b4f60a8c7e9d1b3f5a7c9';
const tokenFile = join(withFiles({ token: TOKEN }), 'token');

let browser: Browser | null = null;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  if (skip === null) browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close().catch(() => {});
  await killAll();
});

interface Tab {
  page: Page;
  /** every URL the page (and its Web Workers) requested */
  requests: string[];
  /** the URLs of the WebSockets it opened */
  sockets: string[];
  errors: string[];
}

/** A fresh browser context (its own Cache API) and page, recording requests and sockets;
 *  `initScript` runs in the page before its own scripts (not in its Web Workers). */
async function tab(o: { tls?: boolean; userAgent?: string; initScript?: string } = {}): Promise<Tab> {
  const context = await browser!.newContext({
    ignoreHTTPSErrors: o.tls ?? false,
    ...(o.userAgent ? { userAgent: o.userAgent } : {}),
  });
  contexts.push(context);
  if (o.initScript) await context.addInitScript(o.initScript);
  const page = await context.newPage();
  const t: Tab = { page, requests: [], sockets: [], errors: [] };
  context.on('request', (r) => t.requests.push(r.url()));
  page.on('websocket', (ws) => t.sockets.push(ws.url()));
  page.on('pageerror', (e) => t.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // a failed load is recorded with its URL below
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) t.errors.push(m.text());
  });
  context.on('response', (r) => {
    if (r.status() >= 400) t.errors.push(`${r.status()} ${r.url()}`);
  });
  return t;
}

/** Open /join with the token (and threads) in the URL fragment (the page then joins by itself),
 *  and wait until its status is one of `until` (default: it has joined) — or it stopped, was
 *  refused or failed, whatever `until` says: the test then reads why. */
async function joinAt(
  t: Tab,
  base: string,
  fragment: Record<string, string | number> = {},
  until = ['connected', 'computing', 'idle'],
): Promise<string> {
  const frag = new URLSearchParams(Object.entries(fragment).map(([k, v]) => [k, String(v)])).toString();
  await t.page.goto(`${base}/join${frag ? `#${frag}` : ''}`);
  const states = [...until, 'refused', 'stopped', 'error'];
  await t.page.waitForFunction(
    (s) => s.includes(document.querySelector('#status')?.getAttribute('data-state') ?? ''),
    states,
    { timeout: 30_000 },
  );
  return (await t.page.locator('#status').getAttribute('data-state')) ?? '';
}

const text = async (t: Tab, id: string): Promise<string> => (await t.page.locator(`#${id}`).textContent()) ?? '';
const count = async (t: Tab, id: string): Promise<number> => Number((await text(t, id)).replace(/[^\d.]/g, ''));

/** a coordinator with the token on an ephemeral port; its base URL */
async function coordinator(
  file: string,
  o: { minWorkers?: number; args?: string[]; scheme?: 'http' | 'https' } = {},
): Promise<{ c: Proc; base: string; port: number; out: string }> {
  const out = tempDir();
  const c = startCoordinator([
    '--config',
    file,
    '--listen',
    '127.0.0.1:0',
    '--out',
    out,
    '--token-file',
    tokenFile,
    '--min-workers',
    String(o.minWorkers ?? 2),
    ...(o.args ?? []),
  ]);
  const port = await listeningPort(c);
  return { c, base: `${o.scheme ?? 'http'}://127.0.0.1:${port}`, port, out };
}

/** a Node worker with the token */
const nodeWorker = (port: number, name: string, extra: string[] = []): Proc =>
  startWorker(port, name, ['--token-file', tokenFile, ...extra]);

describe.skipIf(skip !== null)('a browser page as a worker', () => {
  it('(a) one Node worker and one page train to the in-process weights; the page outlives the heartbeat timeout idle; the dashboard shows it', async () => {
    const { c, base, port, out } = await coordinator(shortFile, { args: ['--heartbeat-timeout', '1.5'] });
    // a user agent is whatever the browser says: here markup, a quote and a backslash
    const t = await tab({ userAgent: HOSTILE_WORKER });
    await joinAt(t, base, { token: TOKEN });
    const joined = await c.waitForEvent('worker-joined', (e) => e.kind === 'browser');
    await c.waitForEvent('worker-ready', (e) => e.worker === joined.worker);
    // alone, the page waits for the second worker: longer than the heartbeat timeout, and it
    // stays (the browser answers WebSocket pings without the page's script)
    const userAgent = await t.page.evaluate(() => navigator.userAgent);
    expect(userAgent).toBe(HOSTILE_WORKER);
    expect(joined.userAgent).toBe(userAgent);
    const idle = new Promise((r) => setTimeout(r, 2500));
    // meanwhile the dashboard (with the token) lists it: kind browser, its user agent
    const dash = await (
      await browser!.newContext({ extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` } })
    ).newPage();
    contexts.push(dash.context());
    await dash.goto(`${base}/`);
    const row = dash.locator(`#workers tbody tr[data-id="${joined.worker as string}"]`);
    await expect.poll(() => row.getAttribute('data-kind'), { timeout: 10_000 }).toBe('browser');
    expect(await row.locator('td.agent').textContent()).toBe(userAgent);
    expect(await row.locator('td.kind').textContent()).toBe('browser');
    expect(await dash.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    await idle;
    expect(c.events.filter((e) => e.event === 'heartbeat-timeout')).toEqual([]);
    nodeWorker(port, 'node-1');
    await c.waitFor((e) => e.event === 'step' && e.workers === 2, 'a step on both workers');
    expect(await c.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference!.short);
    // the page computed part of it, and says so
    expect(await count(t, 'steps')).toBeGreaterThan(0);
    expect(await count(t, 'samples')).toBeGreaterThan(0);
    expect(t.errors).toEqual([]);
  }, 90_000);

  it('(b) the page closed mid-run: its work is redone by the Node worker, the weights unchanged', async () => {
    const { c, base, port, out } = await coordinator(longFile);
    const t = await tab();
    await joinAt(t, base, { token: TOKEN });
    const joined = await c.waitForEvent('worker-joined', (e) => e.kind === 'browser');
    nodeWorker(port, 'node-1');
    await c.waitFor((e) => e.event === 'step' && e.workers === 2 && (e.step as number) >= 20, 'steps on both');
    // closing the tab (pagehide): the page closes its socket cleanly, the coordinator reassigns at once
    await t.page.close({ runBeforeUnload: true });
    const gone = await c.waitForEvent('disconnected', (e) => e.worker === joined.worker);
    // a clean close (the page's pagehide, or the browser going away), not a dropped connection
    expect([1000, 1001]).toContain(gone.code);
    expect(await c.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference!.long);
    // the Node worker computed the steps after it alone (a step in flight may still count two)
    const after = c.events.slice(c.events.indexOf(gone)).filter((e) => e.event === 'step');
    expect(after.length).toBeGreaterThan(10);
    expect(after.slice(2).every((e) => e.workers === 1)).toBe(true);
  }, 90_000);

  it('(c) a second page joins mid-run: used from a step boundary on, the weights unchanged', async () => {
    const { c, base, port, out } = await coordinator(longFile);
    const first = await tab();
    await joinAt(first, base, { token: TOKEN });
    nodeWorker(port, 'node-1');
    await c.waitFor((e) => e.event === 'step' && e.workers === 2 && (e.step as number) >= 10, 'steps on two');
    const second = await tab();
    await joinAt(second, base, { token: TOKEN });
    await c.waitFor((e) => e.event === 'step' && e.workers === 3, 'a step on three workers');
    expect(await c.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference!.long);
    expect(await count(second, 'steps')).toBeGreaterThan(0);
    expect([...first.errors, ...second.errors]).toEqual([]);
  }, 90_000);

  it('(d) a wrong token is refused and the page says why; the right one (in the fragment) is in no request, log line, page body or address', async () => {
    const { c, base, out } = await coordinator(shortFile, { minWorkers: 1 });
    const wrong = await tab();
    expect(await joinAt(wrong, base, { token: 'not-the-token-0123456789abcdef0123456789' }, ['refused'])).toBe(
      'refused',
    );
    expect(await text(wrong, 'reason')).toMatch(/authentication failed: wrong or missing token/);
    await c.waitForEvent('rejected', (e) => e.code === 'E_AUTH');

    const t = await tab();
    await joinAt(t, base, { token: TOKEN });
    expect(await c.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference!.short);
    // the token went nowhere: not in a request line (the fragment never leaves the browser)...
    expect(t.requests.length).toBeGreaterThan(3);
    for (const u of [...t.requests, ...t.sockets]) expect(u).not.toContain(TOKEN);
    // ...not in the coordinator's log, and gone from the page once it has joined
    for (const line of [...c.lines, c.stderr]) expect(line).not.toContain(TOKEN);
    expect(t.page.url()).not.toContain(TOKEN);
    expect(await t.page.evaluate(() => location.href + document.documentElement.outerHTML)).not.toContain(TOKEN);
    expect(await t.page.locator('#token').inputValue()).not.toContain(TOKEN);
  }, 90_000);

  it.skipIf(opensslMissing !== null)(
    '(e) under TLS the page connects with wss:// and trains to the same weights',
    async () => {
      const { cert, key } = selfSignedCert();
      const { c, base, out } = await coordinator(shortFile, {
        minWorkers: 1,
        scheme: 'https',
        args: ['--tls-cert', cert, '--tls-key', key],
      });
      const t = await tab({ tls: true });
      await joinAt(t, base, { token: TOKEN });
      expect(await c.exited).toBe(0);
      expect(summary(out).weightsSha256).toBe(reference!.short);
      expect(t.sockets.length).toBeGreaterThan(0);
      for (const u of t.sockets) expect(u).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\//);
      for (const u of t.requests) expect(u).toMatch(/^https:\/\//);
    },
    90_000,
  );

  it('(f) a browser without WebAssembly SIMD is refused with a clear sentence on the page', async () => {
    const { c, base } = await coordinator(shortFile, { minWorkers: 1 });
    const t = await tab({ initScript: NO_SIMD_SCRIPT });
    const state = await joinAt(t, base, { token: TOKEN }, ['refused']);
    expect(`${state}: ${await text(t, 'reason')}`).toBe(`refused: ${NO_SIMD}`);
    expect(await c.waitForEvent('rejected')).toMatchObject({ code: 'E_INCOMPATIBLE', kind: 'browser', simd: false });
    c.kill('SIGTERM');
  }, 60_000);

  it('(g) a page with two compute threads (#threads=2) trains to the same weights', async () => {
    const { c, base, port, out } = await coordinator(shortFile);
    const t = await tab();
    await joinAt(t, base, { token: TOKEN, threads: 2 });
    const joined = await c.waitForEvent('worker-joined', (e) => e.kind === 'browser');
    expect(joined.threads).toBe(2);
    nodeWorker(port, 'node-1');
    expect(await c.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference!.short);
    expect(t.errors).toEqual([]);
  }, 90_000);
});

/** Simulates a browser without WebAssembly SIMD in the page (Chromium has no switch that turns it
 *  off any more; the page checks SIMD itself before it starts its agent, and the hello says
 *  whether both have it): WebAssembly.validate answers false for a module with a byte 0xfd (the
 *  SIMD opcodes' prefix). */
const NO_SIMD_SCRIPT = `(() => {
  const hasSimd = (b) => { const u = b instanceof Uint8Array ? b : new Uint8Array(b.buffer ?? b); for (const x of u) if (x === 0xfd) return true; return false; };
  const validate = WebAssembly.validate;
  WebAssembly.validate = (b) => (hasSimd(b) ? false : validate(b));
})();`;
