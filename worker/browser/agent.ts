// The page's agent: the entry of the dedicated Web Worker (bundled as /join/agent.js) that runs
// the worker core, so computing never blocks the page's UI and goes on in a background tab (a
// browser throttles a hidden page's timers, not a worker's compute). The page sends `join` and
// `leave` (messages.ts); the agent loads the wasm-simd kernels, runs the core on the browser
// platform (platform.ts) and tells the page what it does.
import { MAX_FRAME_BYTES } from '../../shared/protocol.js';
import { type CoreObserver, WorkerCore } from '../core/client.js';
import type { CoreLogger } from '../core/platform.js';
import { AGENT_URL, type FromAgent, type ToAgent } from './messages.js';
import { type BrowserEnv, browserPlatform, loadKernels, socketUrl } from './platform.js';
import { runComputeThread, type ThreadPort, type ToThread } from './team.js';

interface AgentScope {
  postMessage(m: FromAgent): void;
  onmessage: ((ev: { data: ToAgent | Extract<ToThread, { type: 'thread-init' }> }) => void) | null;
  location: { origin: string };
  navigator: { userAgent: string };
  crypto: Crypto;
  caches?: CacheStorage;
  fetch: BrowserEnv['fetch'];
  WebSocket: BrowserEnv['WebSocket'];
}

const scope = self as unknown as AgentScope;
const post = (m: FromAgent): void => scope.postMessage(m);

const logAt =
  (level: Extract<FromAgent, { type: 'log' }>['level']) =>
  (_fields: Record<string, unknown>, message: string): void =>
    post({ type: 'log', level, message });
const log: CoreLogger = { debug: logAt('debug'), info: logAt('info'), warn: logAt('warn'), error: logAt('error') };

let core: WorkerCore | null = null;
let leaving = false;

/** what changes every step (the counts; computing ↔ idle) is told at most this often */
const REPORT_MS = 250;

/** The page redraws for every message it hears, and a step at the default batch takes ~20 ms:
 *  three messages a step kept the page redrawing ~150 times a second, on the cores the computing
 *  thread and Chromium's network threads share. Steps are summed and computing/idle is told at
 *  most every REPORT_MS; any other state is told at once, after what is pending. */
class Reports {
  private steps: Extract<FromAgent, { type: 'steps' }> | null = null;
  private busy: 'computing' | 'idle' | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  step(s: { jobId: string; step: number; samples: number; ms: number }): void {
    const t = this.steps?.jobId === s.jobId ? this.steps : null;
    if (this.steps && !t) this.flush();
    this.steps = {
      type: 'steps',
      jobId: s.jobId,
      step: s.step,
      steps: (t?.steps ?? 0) + 1,
      samples: (t?.samples ?? 0) + s.samples,
      ms: (t?.ms ?? 0) + s.ms,
    };
    this.soon();
  }

  state(state: Extract<FromAgent, { type: 'state' }>['state'], reason?: string): void {
    if ((state === 'computing' || state === 'idle') && reason === undefined) {
      this.busy = state;
      this.soon();
      return;
    }
    this.flush();
    post({ type: 'state', state, ...(reason ? { reason } : {}) });
  }

  /** tell what is pending now */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.steps) post(this.steps);
    if (this.busy) post({ type: 'state', state: this.busy });
    this.steps = null;
    this.busy = null;
  }

  private soon(): void {
    this.timer ??= setTimeout(() => this.flush(), REPORT_MS);
  }
}
const reports = new Reports();

async function join(m: Extract<ToAgent, { type: 'join' }>): Promise<void> {
  if (core) return;
  leaving = false;
  const env: BrowserEnv = {
    WebSocket: scope.WebSocket,
    fetch: (url, init) => scope.fetch(url, init),
    // crypto.subtle exists only in secure contexts (https://, http://localhost)
    ...(scope.crypto.subtle ? { subtle: scope.crypto.subtle } : {}),
    getRandomValues: (a) => scope.crypto.getRandomValues(a),
    ...(scope.caches ? { caches: scope.caches } : {}),
    origin: scope.location.origin,
    userAgent: scope.navigator.userAgent,
    log,
  };
  reports.state('connecting');
  let kernels: Awaited<ReturnType<typeof loadKernels>>;
  try {
    kernels = await loadKernels(env);
  } catch (e) {
    reports.state('error', `cannot load the kernels: ${(e as Error).message}`);
    return;
  }
  const observer: CoreObserver = {
    // 'stopped' is said once, below, with its reason
    state: (state, reason) => {
      if (state !== 'stopped') reports.state(state, reason);
    },
    job: (j) => {
      reports.flush();
      post({
        type: 'job',
        jobId: j.jobId,
        epochs: j.config.epochs,
        batchSize: j.config.batchSize,
        samples: j.samples,
        threads: j.threads,
      });
    },
    stepDone: (s) => reports.step(s),
  };
  const c = new WorkerCore(
    {
      url: socketUrl(env.origin),
      token: m.token,
      name: m.name,
      stay: false,
      threads: m.threads,
      // a page hears no WebSocket pings (the browser answers them): no silence watchdog
      heartbeatTimeoutMs: 0,
      maxFrameBytes: MAX_FRAME_BYTES,
      tokenHint: 'type it in the token field, or open the link with #token=… at its end',
    },
    browserPlatform(
      env,
      // said in the hello: without SIMD the coordinator refuses the page with a sentence it shows
      kernels.simd && m.simd,
      m.threads > 1
        ? {
            kernels: { bytes: kernels.bytes, sha256: kernels.sha256 },
            // the compute threads run this same script: their first message makes them one
            spawn: () => new Worker(AGENT_URL) as unknown as ThreadPort,
          }
        : undefined,
    ),
    observer,
  );
  core = c;
  const code = await c.run();
  core = null;
  if (code === 0) reports.state('stopped', leaving ? 'left the pool' : 'the run is done');
  else reports.flush();
}

scope.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === 'thread-init') runComputeThread(scope as unknown as Parameters<typeof runComputeThread>[0], m);
  else if (m.type === 'join') void join(m);
  else {
    leaving = true;
    core?.stop();
  }
};
