// The worker pool: a coordinator server with its login page, dashboard, /metrics, status file
// and telemetry. A run whose gradients workers compute over WebSockets (`gradwire coordinator
// --config`, `gradwire train --workers N`: runCoordinator), a pool with no single job (sweeps:
// withPool), and the local worker processes of `train` and `sweep` (spawnWorker).
import { installDashboard } from '../web/dashboard.js';
import { installJoin } from '../web/join.js';
import { installLogin } from '../web/login.js';
import { installMetrics } from '../web/metrics.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { RunConfig } from '../../shared/config-types.js';
import { encodeDatasetBlob } from '../../shared/data/blob.js';
import { loadDataset } from '../run/datasets.js';
import { DistributedSource } from './distributed.js';
import { StopSignal, runTraining, type RunSummary } from '../run/run-loop.js';
import { ThreadSource } from '../run/threads-source.js';
import { StatusFile, localUrl } from '../../shared/health.js';
import { kernelVariant } from '../../shared/kernels/index.js';
import { PoolStatus } from './pool-status.js';
import { CoordinatorServer } from './server.js';
import { Telemetry } from '../run/telemetry.js';
import { sha256Hex, writeAtomic } from '../store/outputs.js';
import { recordRun } from '../run/record.js';
import type { Store } from '../store/store.js';

export interface CoordinatorOptions {
  config: RunConfig;
  baseDir: string;
  outDir: string;
  runId: string;
  log: Logger;
  host: string;
  port: number;
  minWorkers: number;
  token: string | null;
  tls: { cert: Buffer; key: Buffer } | null;
  heartbeatTimeoutMs: number;
  /** when the run is done, keep serving (/healthz says done) until SIGTERM or SIGINT */
  stay?: boolean;
  /** the dashboard and /metrics without the token */
  publicDashboard?: boolean;
  progress: boolean;
  stepEvents: boolean;
  /** called with the bound port once the server listens */
  onListening?: (port: number) => void;
  /** the experiment store to record the run in (none: not recorded) */
  store?: Store | null;
  /** compute with this many threads of this process instead of workers (`gradwire train`):
   *  the server serves the dashboard and /metrics, no job is offered to workers */
  threads?: number;
}

// worker/main.ts beside this file, or worker/main.js when running compiled (dist/)
const ownExt = extname(fileURLToPath(import.meta.url));
export const WORKER_MAIN = fileURLToPath(new URL(`../../worker/main${ownExt}`, import.meta.url));

/** Node flags for a child running this same installation: the parent's own, and tsx's loader
 *  when the sources are TypeScript and the parent registered it in code (bin/gradwire.js). */
function childExecArgv(): string[] {
  const own = process.execArgv;
  if (ownExt !== '.ts' || own.some((a) => a.includes('tsx'))) return own;
  return [...own, '--import', import.meta.resolve('tsx')];
}

/** Start a worker process running this same installation (same Node, same loader). `env`
 *  replaces variables of this process's environment (undefined removes one). */
export function spawnWorker(
  args: string[],
  stdio: 'inherit' | 'ignore' | 'pipe' = 'inherit',
  env: Record<string, string | undefined> = {},
): ChildProcess {
  const childEnv: NodeJS.ProcessEnv = { ...WORKER_MEMORY_ENV, ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return spawn(process.execPath, [...childExecArgv(), ...WORKER_NODE_FLAGS, WORKER_MAIN, ...args], {
    stdio: ['ignore', stdio, stdio],
    env: childEnv,
  });
}

// A worker's memory: its JavaScript heap is small (the model, its slots and the dataset live in
// typed arrays and the kernels' memory), while it turns over megabytes of message buffers per
// step. A small young generation and glibc malloc without per-thread arenas and with a fixed
// mmap threshold (large buffers go back to the system when freed) keep its resident memory
// near what it uses. The environment's own MALLOC_* settings win.
const WORKER_NODE_FLAGS = ['--max-semi-space-size=1'];
const WORKER_MEMORY_ENV: NodeJS.ProcessEnv = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '262144' };

export async function runCoordinator(o: CoordinatorOptions): Promise<RunSummary | null> {
  let data = loadDataset(o.config.data, o.baseDir, o.config.seed);
  const { server, port, status, poolStatus, telemetry: poolTelemetry } = await startServer(o);
  o.onListening?.(port);
  let source: DistributedSource | ThreadSource;
  if (o.threads) {
    source = await ThreadSource.start(o.config, data, o.threads, o.log);
    data = source.data;
  } else {
    source = new DistributedSource(server, {
      log: o.log,
      runId: o.runId,
      minWorkers: o.minWorkers,
      onNonFinite: o.config.onNonFinite,
      telemetry: poolTelemetry,
    });
    const blob = encodeDatasetBlob(data);
    server.setJob({
      jobId: o.runId,
      config: o.config as unknown as Record<string, unknown>,
      sha256: sha256Hex(blob),
      blob,
    });
  }
  const telemetry = poolTelemetry.forRun(o.runId);
  const distributed = source instanceof DistributedSource ? source : null;
  poolStatus.describe(() => ({
    run: o.runId,
    reassignments: distributed?.reassignments ?? 0,
    rejectedFrames: server.rejectedFrames,
  }));
  const stop = new StopSignal();
  const onSignal = (sig: string): void => {
    o.log.warn({ run: o.runId, event: 'signal', signal: sig }, `${sig}: checkpointing and stopping`);
    stop.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const summary = await recordRun(
      o.store ?? null,
      { runId: o.runId, config: o.config, outDir: o.outDir, log: o.log },
      (onEpoch) =>
        runTraining(
          {
            config: o.config,
            data,
            outDir: o.outDir,
            runId: o.runId,
            log: o.log,
            progress: o.progress,
            stepEvents: o.stepEvents,
            stopSignal: stop,
            telemetry,
            onEpoch,
          },
          source,
        ),
    );
    // a stopped run (SIGTERM) is not done: its workers keep reconnecting for the resume
    if (summary) for (const c of server.readyWorkers()) c.send({ type: 'job-done', jobId: o.runId });
    server.setJob(null);
    // give workers a moment to read job-done and leave on their own
    await new Promise((r) => setTimeout(r, 200));
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    if (summary) await stayIfAsked(o, poolStatus, status);
    return summary;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    // the run is over: workers leaving now are no step's concern (no reassignments, no waiting)
    if (source instanceof DistributedSource) source.dispose();
    else await source.close();
    status.stop();
    await server.close();
  }
}

export interface PoolOptions {
  host: string;
  port: number;
  token: string | null;
  tls: { cert: Buffer; key: Buffer } | null;
  log: Logger;
  heartbeatTimeoutMs: number;
  /** when the run or sweep is done, keep serving until SIGTERM or SIGINT (a Kubernetes
   *  Deployment's coordinator must not exit) */
  stay?: boolean;
  /** the dashboard and /metrics without the token */
  publicDashboard?: boolean;
}

/** Done: with --stay, keep serving (/healthz says done) until SIGTERM or SIGINT. */
async function stayIfAsked(o: PoolOptions, poolStatus: PoolStatus, status: StatusFile): Promise<void> {
  poolStatus.done();
  status.update();
  if (!o.stay) return;
  o.log.info({ event: 'staying' }, 'done; staying up (--stay) until SIGTERM');
  await new Promise<void>((res) => {
    const leave = (): void => {
      process.off('SIGTERM', leave);
      process.off('SIGINT', leave);
      res();
    };
    process.on('SIGTERM', leave);
    process.on('SIGINT', leave);
  });
}

/** The pool's telemetry: what the run loop, the sweep and the pool report (the dashboard and
 *  /metrics read it), fed with the server's workers (live, and those gone). It belongs to the
 *  pool, not to the server: the server only says who is connected. */
export function poolTelemetry(server: CoordinatorServer): Telemetry {
  const telemetry = new Telemetry();
  telemetry.liveWorkers = () => server.workerInfos();
  server.on('left', (c, reason) => telemetry.workerGone({ ...c.info(), state: 'gone', goneAt: Date.now(), reason }));
  return telemetry;
}

/** Start the coordinator's server, say where workers connect, and keep the status file
 *  (GRADWIRE_STATUS_FILE) current. */
async function startServer(o: PoolOptions): Promise<{
  server: CoordinatorServer;
  port: number;
  status: StatusFile;
  poolStatus: PoolStatus;
  telemetry: Telemetry;
}> {
  const poolStatus = new PoolStatus();
  const server = new CoordinatorServer({
    host: o.host,
    port: o.port,
    token: o.token,
    tls: o.tls,
    log: o.log,
    runtime: { node: process.versions.node, v8: process.versions.v8, kernel: kernelVariant() },
    heartbeatMs: Math.max(100, Math.min(1000, o.heartbeatTimeoutMs / 4)),
    heartbeatTimeoutMs: o.heartbeatTimeoutMs,
    publicDashboard: o.publicDashboard ?? false,
    health: () => poolStatus.health(),
  });
  const telemetry = poolTelemetry(server);
  installLogin(server);
  installDashboard(server, telemetry);
  installMetrics(server, telemetry);
  installJoin(server);
  const port = await server.start();
  const status = StatusFile.fromEnv(writeAtomic, 'coordinator', () => poolStatus.state);
  status.setHealthUrl(localUrl(o.tls ? 'https' : 'http', o.host, port, '/healthz'));
  const scheme = o.tls ? 'wss' : 'ws';
  const dashboard = localUrl(o.tls ? 'https' : 'http', o.host, port, '/');
  const join = `${dashboard}join`;
  o.log.info(
    { event: 'listening', host: o.host, port, tls: !!o.tls, auth: !!o.token, dashboard, join },
    `coordinator listening on ${scheme}://${o.host}:${port} (${o.token ? 'token required' : 'no token: loopback only'}); start workers with: gradwire worker --connect ${scheme}://${o.host}:${port}, or open ${join} in a browser${o.token ? ' (and give it the token)' : ''}; dashboard: ${dashboard}${o.token && !o.publicDashboard ? ' (log in with the token)' : ''}, metrics: ${dashboard}metrics`,
  );
  return { server, port, status, poolStatus, telemetry };
}

/** A coordinator server with no single job (sweeps give each trial its own workers): start
 *  it, run `body`, then dismiss the workers and close. */
export async function withPool<T>(
  o: PoolOptions,
  body: (server: CoordinatorServer, port: number, telemetry: Telemetry) => Promise<T>,
): Promise<T> {
  const { server, port, status, poolStatus, telemetry } = await startServer(o);
  try {
    const result = await body(server, port, telemetry);
    for (const c of server.workers()) c.send({ type: 'job-done', jobId: c.seats[0]?.jobId ?? 'pool' });
    await new Promise((r) => setTimeout(r, 200));
    await stayIfAsked(o, poolStatus, status);
    return result;
  } finally {
    status.stop();
    await server.close();
  }
}
