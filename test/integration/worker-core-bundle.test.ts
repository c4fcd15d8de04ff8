// The worker core runs outside Node: worker/browser/page.ts and agent.ts bundle for the browser
// (esbuild, platform "browser") with no Node module in them, and the core on the page's own
// platform (worker/browser/platform.ts, given web APIs only: WebSocket, fetch, WebCrypto) trains
// against a real coordinator to the same weights, bit for bit, as in-process training — alone,
// beside a Node worker, and with two compute threads — and is refused with a sentence the page
// shows for a wrong or missing token. The plain-TypeScript SHA-256/HMAC the page uses without
// WebCrypto (plain http:// on a LAN address) agrees with node:crypto; the page's socket never
// sends a close code a browser forbids.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type CoreState, WorkerCore } from '../../worker/core/client.js';
import {
  type BrowserEnv,
  browserPlatform,
  DATASET_CACHE,
  KERNELS_PATH,
  loadKernels,
  socketUrl,
} from '../../worker/browser/platform.js';
import { hmacSha256, sha256 } from '../../worker/browser/sha256.js';
import { type FromThread, runComputeThread, type ThreadPort, type ToThread } from '../../worker/browser/team.js';
import { ROOT, tempDir, withFiles } from '../helpers/cli.js';
import {
  inProcessSha,
  killAll,
  listeningPort,
  sharedCache,
  startCoordinator,
  startWorker,
  summary,
} from '../helpers/cluster.js';

afterAll(killAll);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('the page bundles', () => {
  it.each(['page', 'agent'])('worker/browser/%s.ts bundles for the browser with no Node module', async (entry) => {
    const r = await esbuild.build({
      entryPoints: [join(ROOT, 'worker/browser', `${entry}.ts`)],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.text)).toEqual([]);
    const text = r.outputFiles[0]!.text;
    expect(text).not.toMatch(/(from|require\(|import\()\s*["']node:/);
    expect(text).not.toMatch(/\brequire\(/);
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs.filter((p) => /(^|\/)node_modules\/(ws|pino|better-sqlite3|bufferutil)\//.test(p))).toEqual([]);
    expect(inputs.filter((p) => /(^|\/)shared\/node\//.test(p))).toEqual([]);
    // the agent holds the core; the page holds the UI only
    if (entry === 'agent') expect(inputs.some((p) => p.endsWith('worker/core/client.ts'))).toBe(true);
    else expect(inputs.filter((p) => p.includes('worker/core/'))).toEqual([]);
  });
});

describe("the page's SHA-256 and HMAC without WebCrypto", () => {
  it('equal node:crypto at the block boundaries and for long keys', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 65_537]) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
      expect(hex(sha256(data))).toBe(createHash('sha256').update(data).digest('hex'));
      for (const key of ['k', 'x'.repeat(64), 'y'.repeat(100)])
        expect(hex(hmacSha256(new TextEncoder().encode(key), data))).toBe(
          createHmac('sha256', key).update(data).digest('hex'),
        );
    }
  });
});

// iris: 120 training samples, batch 16, microbatch 4; BatchNorm, so every step has sync rounds
const CONFIG = `
seed: 11
data: { name: iris }
model: { hidden: [16], norm: batch, dropout: 0.1 }
optimizer: { name: adam, lr: 0.01 }
batchSize: 16
microbatch: 4
epochs: 2
`;
const files = withFiles({ 'run.yaml': CONFIG, token: `${randomBytes(32).toString('hex')}\n` });
const configFile = join(files, 'run.yaml');
const token = readFileSync(join(files, 'token'), 'utf8').trim();
const kernelsWasm = readFileSync(join(ROOT, 'shared/kernels/build/kernels.wasm'));

/** A minimal Cache API (the page's dataset cache; Node 20 has none). */
function memoryCaches(): { caches: CacheStorage; names: string[]; entries: Map<string, Uint8Array> } {
  const entries = new Map<string, Uint8Array>();
  const names: string[] = [];
  const cache = {
    match: async (key: string) =>
      entries.has(key) ? new Response(entries.get(key) as Uint8Array<ArrayBuffer>) : undefined,
    put: async (key: string, res: Response) => {
      entries.set(key, new Uint8Array(await res.arrayBuffer()));
    },
  };
  const caches = {
    open: async (name: string) => {
      names.push(name);
      return cache;
    },
  } as unknown as CacheStorage;
  return { caches, names, entries };
}

/** Web APIs only: `ws` in the browser WebSocket's shape, fetch, WebCrypto. kernels.wasm is
 *  served at /join/kernels.wasm as the coordinator's join route serves it. */
function webEnv(port: number, cache: CacheStorage): BrowserEnv & { requests: string[] } {
  const origin = `http://127.0.0.1:${port}`;
  const requests: string[] = [];
  return {
    WebSocket: WebSocket as unknown as BrowserEnv['WebSocket'],
    fetch: async (url, init) => {
      requests.push(url);
      if (new URL(url).pathname === KERNELS_PATH) return new Response(kernelsWasm);
      return fetch(url, init);
    },
    subtle: globalThis.crypto.subtle,
    getRandomValues: (a) => globalThis.crypto.getRandomValues(a),
    caches: cache,
    origin,
    userAgent: 'worker-core-bundle.test (Node)',
    log: { debug() {}, info() {}, warn() {}, error() {} },
    requests,
  };
}

/** A stand-in for a Web Worker running agent.js as a compute thread: the same thread code
 *  (runComputeThread) behind a MessageChannel, so messages are structured clones as between
 *  Web Workers, and its own kernels instance. */
function channelThread(): ThreadPort {
  const { port1, port2 } = new MessageChannel();
  const scope: Parameters<typeof runComputeThread>[0] = {
    postMessage: (m, transfer) => port2.postMessage(m, (transfer ?? []) as Transferable[] as never),
    onmessage: null,
  };
  port2.onmessage = (ev: MessageEvent<ToThread>) => {
    if (ev.data.type === 'thread-init') runComputeThread(scope, ev.data);
    else scope.onmessage?.(ev);
  };
  const port: ThreadPort = {
    postMessage: (m, transfer) => port1.postMessage(m, (transfer ?? []) as never),
    onmessage: null,
    onerror: null,
    terminate: () => {
      port1.close();
      port2.close();
    },
  };
  port1.onmessage = (ev: MessageEvent<FromThread>) => port.onmessage?.(ev);
  return port;
}

describe('the core on the browser platform against a real coordinator', () => {
  let reference!: string;
  beforeAll(async () => {
    reference = await inProcessSha(configFile);
  });

  it.each([
    ['alone', 0, 1],
    ['beside a Node worker', 1, 1],
    ['with #threads=2 (a team of two Web Workers, stood in for by message channels)', 0, 2],
  ])(
    '%s: the same weightsSha256 as --in-process',
    async (_, nodeWorkers, threads) => {
      const out = tempDir('gradwire-core-');
      const c = startCoordinator([
        '--config',
        configFile,
        '--listen',
        '127.0.0.1:0',
        '--out',
        out,
        '--min-workers',
        String(1 + nodeWorkers),
        '--token-file',
        join(files, 'token'),
      ]);
      const port = await listeningPort(c);
      for (let i = 0; i < nodeWorkers; i++)
        startWorker(port, `node-${i}`, ['--threads', '1'], sharedCache, { GRADWIRE_TOKEN: token });
      const { caches, names, entries } = memoryCaches();
      const env = webEnv(port, caches);
      const { simd, sha256: kernelBuild, bytes } = await loadKernels(env);
      expect(kernelBuild).toBe(createHash('sha256').update(kernelsWasm).digest('hex'));
      const states: CoreState[] = [];
      let samples = 0;
      const core = new WorkerCore(
        {
          url: socketUrl(env.origin),
          token,
          name: 'page-like',
          stay: false,
          threads,
          heartbeatTimeoutMs: 0,
          maxFrameBytes: 64 * 1024 * 1024,
          tokenHint: 'type it in the token field',
        },
        browserPlatform(
          env,
          simd,
          threads > 1 ? { kernels: { bytes, sha256: kernelBuild }, spawn: channelThread } : undefined,
        ),
        { state: (s) => states.push(s), stepDone: (s) => (samples += s.samples) },
      );
      expect(await core.run()).toBe(0);
      expect(await c.exited).toBe(0);
      expect(summary(out).weightsSha256).toBe(reference);

      // the worker said what it is, computed, and kept the dataset under its hash
      const joined = c.events.filter((e) => e.event === 'worker-joined' && e.name === 'page-like');
      expect(joined.map((e) => e.threads)).toEqual([threads]);
      expect(samples).toBeGreaterThan(0);
      expect(states).toContain('connected');
      expect(states).toContain('computing');
      expect(names.every((n) => n === DATASET_CACHE)).toBe(true);
      expect([...entries].map(([key, bytes]) => new URL(key).pathname.endsWith(hex(sha256(bytes))))).toEqual([true]);
      // the token is in no request the page made
      expect(env.requests.filter((r) => r.includes(token))).toEqual([]);
    },
    60_000,
  );

  it('a wrong token, or none, is refused (exit 2) with a sentence the page shows', async () => {
    const out = tempDir('gradwire-core-');
    const c = startCoordinator([
      '--config',
      configFile,
      '--listen',
      '127.0.0.1:0',
      '--out',
      out,
      '--token-file',
      join(files, 'token'),
    ]);
    const port = await listeningPort(c);
    const { caches } = memoryCaches();
    const env = webEnv(port, caches);
    const { simd } = await loadKernels(env);
    const attempt = async (given: string | null): Promise<{ code: number; refused: string[] }> => {
      const refused: string[] = [];
      const core = new WorkerCore(
        {
          url: socketUrl(env.origin),
          token: given,
          name: 'page-like',
          stay: false,
          threads: 1,
          heartbeatTimeoutMs: 0,
          maxFrameBytes: 64 * 1024 * 1024,
          tokenHint: 'type it in the token field',
        },
        browserPlatform(env, simd),
        { state: (s, reason) => s === 'refused' && refused.push(reason ?? '') },
      );
      return { code: await core.run(), refused };
    };
    // the token with its last character changed (a random token may end in '0' already)
    const wrong = `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`;
    expect(wrong).not.toBe(token);
    expect(await attempt(wrong)).toEqual({
      code: 2,
      refused: ['authentication failed: wrong or missing token'],
    });
    expect(await attempt(null)).toEqual({
      code: 2,
      refused: ['the coordinator requires a token: type it in the token field'],
    });
    c.kill('SIGTERM');
    await c.exited;
  }, 30_000);
});

describe("the page's socket", () => {
  it('closes with 1000 when the core leaves with 1001, which a script may not send', () => {
    const closed: Array<[number, string]> = [];
    class FakeSocket {
      binaryType = 'blob';
      readyState = 1;
      onopen = null;
      onmessage = null;
      onerror = null;
      onclose = null;
      send(): void {}
      close(code: number, reason: string): void {
        closed.push([code, reason]);
      }
    }
    const env = { ...webEnv(1, memoryCaches().caches), WebSocket: FakeSocket as unknown as BrowserEnv['WebSocket'] };
    const on = { open() {}, message() {}, heard() {}, error() {}, close() {} };
    const socket = browserPlatform(env, true).connect('ws://127.0.0.1:1/', on);
    socket.close(1001, 'worker stopping');
    socket.close(4003, 'bad frame');
    socket.close(1000, 'run done');
    expect(closed).toEqual([
      [1000, 'worker stopping'],
      [4003, 'bad frame'],
      [1000, 'run done'],
    ]);
  });
});
