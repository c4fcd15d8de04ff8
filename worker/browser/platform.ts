// The browser's WorkerPlatform (worker/core/platform.ts) for the page's agent: the browser
// WebSocket (binary frames as ArrayBuffers), WebCrypto's HMAC-SHA256 over the server's nonce (the
// token never leaves the page; sha256.ts where crypto.subtle is missing: plain http:// on a LAN
// address), datasets fetched by sha256 from the coordinator's dataset route with the
// connection's session ticket and kept in the Cache API ("gradwire-datasets"), and the wasm-simd
// kernels from /join/kernels.wasm — the same file as shared/kernels/build/kernels.wasm, compiled
// by shared/kernels/wasm.ts exactly as in Node. Everything it touches comes in as a BrowserEnv,
// so a test runs this same code in Node with web APIs (a ws socket in the browser's shape).
import { hasWasmSimd } from '../../shared/kernels/simd-probe.js';
import { setWasmKernelsFile } from '../../shared/kernels/wasm.js';
import { kernelFacts } from '../../shared/kernels/index.js';
import { concatParts } from '../../shared/protocol.js';
import type { CoreLogger, CoreSocket, DatasetStore, WorkerPlatform } from '../core/platform.js';
import { hmacSha256 as hmacSha256Js, sha256 as sha256Js } from './sha256.js';
import { BrowserTeamCompute, type KernelsFile, type ThreadPort } from './team.js';

/** The part of the browser's WebSocket this platform uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
}

/** What the platform uses of its global scope (a Web Worker's `self`, or a test's stand-ins). */
export interface BrowserEnv {
  WebSocket: new (url: string) => WebSocketLike;
  fetch: (url: string, init?: { headers?: Record<string, string> }) => Promise<Response>;
  /** absent outside secure contexts: the plain-TypeScript SHA-256 is used then */
  subtle?: SubtleCrypto;
  getRandomValues<T extends Uint32Array>(a: T): T;
  /** absent outside secure contexts (and in Node): datasets are then fetched for every job */
  caches?: CacheStorage;
  /** http(s)://host:port of the coordinator (the page's own origin) */
  origin: string;
  userAgent: string;
  log: CoreLogger;
}

export const DATASET_CACHE = 'gradwire-datasets';
export const KERNELS_PATH = '/join/kernels.wasm';

const OPEN = 1;

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The coordinator's WebSocket URL for a page served from `origin`: wss:// under https://. */
export function socketUrl(origin: string): string {
  const u = new URL(origin);
  return `${u.protocol === 'https:' ? 'wss:' : 'ws:'}//${u.host}/`;
}

async function sha256Hex(env: Pick<BrowserEnv, 'subtle'>, bytes: Uint8Array): Promise<string> {
  if (!env.subtle) return hex(sha256Js(bytes));
  return hex(new Uint8Array(await env.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
}

/** Fetch kernels.wasm, hash it, and install it for shared/kernels/wasm.ts (compiled when the
 *  first kernels instance is made). Returns whether this engine has WebAssembly SIMD: without it
 *  the hello says so and the coordinator refuses the page with a sentence it shows. */
export async function loadKernels(
  env: BrowserEnv,
  path = KERNELS_PATH,
): Promise<{ simd: boolean; sha256: string; bytes: Uint8Array<ArrayBuffer> }> {
  const simd = hasWasmSimd();
  const res = await env.fetch(new URL(path, env.origin).href);
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const sha256 = await sha256Hex(env, bytes);
  setWasmKernelsFile(() => ({ bytes, sha256, name: path }));
  return { simd, sha256, bytes };
}

/** Datasets in the Cache API under a key per sha256 (never requested: only a cache key). */
function datasetStore(env: BrowserEnv): DatasetStore {
  const key = (sha256: string): string => new URL(`/join/dataset-cache/${sha256}`, env.origin).href;
  const open = async (): Promise<Cache | null> => {
    try {
      return env.caches ? await env.caches.open(DATASET_CACHE) : null;
    } catch {
      return null; // storage refused (private mode, quota): fetch every time
    }
  };
  return {
    async read(sha256) {
      const res = await (await open())?.match(key(sha256));
      return res ? new Uint8Array(await res.arrayBuffer()) : null;
    },
    async write(sha256, bytes) {
      const cache = await open();
      await cache
        ?.put(key(sha256), new Response(bytes as Uint8Array<ArrayBuffer>))
        .catch((e: unknown) =>
          env.log.warn({ event: 'cache-error', err: String(e) }, `cannot cache the dataset: ${String(e)}`),
        );
    },
    async fetch(path, headers) {
      const res = await env.fetch(new URL(path, env.origin).href, { headers });
      if (res.status !== 200) {
        const text = (await res.text().catch(() => '')).slice(0, 200).trim();
        throw new Error(`GET ${new URL(path, env.origin).pathname}: HTTP ${res.status} ${text}`);
      }
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}

function connect(env: BrowserEnv, url: string, on: Parameters<WorkerPlatform['connect']>[1]): CoreSocket {
  const ws = new env.WebSocket(url);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => on.open();
  ws.onmessage = (ev) => {
    if (ev.data instanceof ArrayBuffer) on.message(new Uint8Array(ev.data));
    else on.error('a text frame from the coordinator (it sends binary frames only)');
  };
  ws.onerror = () => on.error('WebSocket error');
  ws.onclose = (ev) => on.close(ev.code, ev.reason);
  /** the buffer a frame's parts are joined in, kept for the next: a browser copies what it sends
   *  before send returns, and a fresh ArrayBuffer of a megabyte cost ~3 ms (its pages zeroed on
   *  first touch) in Chromium on a 2-core VM, nearly the step's compute at batch 128 (~4 ms) */
  let joined = new Uint8Array(0);
  return {
    get open() {
      return ws.readyState === OPEN;
    },
    // a browser sends one message as one frame: the parts are joined (one copy)
    send: (parts) => {
      const n = parts.reduce((s, p) => s + p.byteLength, 0);
      if (parts.length > 1 && joined.byteLength < n) joined = new Uint8Array(n);
      ws.send(concatParts(parts, joined));
    },
    // a script may close with 1000 or 3000–4999 only (the core's 1001, going away, becomes 1000)
    close: (code, reason) => ws.close(code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000, reason),
    // a browser cannot drop a connection without the closing handshake
    terminate: () => ws.close(1000, 'no word from the coordinator'),
  };
}

/** The WorkerPlatform of a page's agent: it computes in its own thread, or with `threads` on a
 *  team of Web Workers (team.ts) that `spawn` starts, each compiling `kernels`. */
export function browserPlatform(
  env: BrowserEnv,
  simd: boolean,
  threads?: { kernels: KernelsFile; spawn: () => ThreadPort },
): WorkerPlatform {
  const encoder = new TextEncoder();
  return {
    connect: (url, on) => connect(env, url, on),
    async hmacSha256(token, data) {
      const key = encoder.encode(token);
      if (!env.subtle) return hmacSha256Js(key, data);
      const k = await env.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      return new Uint8Array(await env.subtle.sign('HMAC', k, data as Uint8Array<ArrayBuffer>));
    },
    sha256Hex: (bytes) => sha256Hex(env, bytes),
    datasets: datasetStore(env),
    log: env.log,
    // a page cannot read the engine's versions; wasm-simd never compares them (PROTOCOL.md)
    runtime: () => ({ node: '', v8: '', ...kernelFacts() }),
    agent: () => ({ kind: 'browser', userAgent: env.userAgent.slice(0, 400), simd }),
    // WebSocket.send copies the bytes it is given (the HTML standard's send())
    sendCopies: true,
    jitter: (max) => (max <= 1 ? 0 : env.getRandomValues(new Uint32Array(1))[0]! % max),
    ...(threads
      ? {
          startTeam: async (r) => ({
            compute: await BrowserTeamCompute.start(r.config, r.data, r.threads, threads.kernels, threads.spawn),
            datasetShared: false,
          }),
        }
      : {}),
  };
}
