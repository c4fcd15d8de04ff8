// The `gradwire` command line.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { UserError, isUserError } from '../shared/errors.js';
import { STATUS_ENV, StatusFile, checkHealth } from '../shared/health.js';
import { resolveToken } from '../shared/token.js';
import { loadRunConfig } from './config-file.js';
import { runCoordinator, spawnWorker, withPool } from './coordinator.js';
import { runSweep } from './sweep.js';
import { isLoopback } from './server.js';
import { loadDataset } from './datasets.js';
import { createLogger, type LogFormat } from './log.js';
import { IN_PROCESS, StopSignal, runTraining } from './run-loop.js';
import { STORE_ENV, findExperiment, formatTable, listExperiments, openStores, renderFound } from './report.js';
import { Store, recordRun } from './store.js';

const MAIN_HELP = `gradwire — data-parallel neural network training over WebSockets

Usage: gradwire <command> [options]        (in a clone: npm run gradwire -- <command> [options])

Commands:
  train        train a model: a coordinator and N local workers over WebSockets, or
               --in-process (the default run: an MLP on the built-in MNIST digits)
  coordinator  serve a run to workers on other machines
  worker       join a coordinator's pool and compute gradients
  sweep        a hyperparameter sweep on a local pool of workers (--preset lecture: the
               lecture's exercise on MNIST, with a report)
  runs         list the runs and sweeps of the experiment stores
  report       write a self-contained HTML report of a past (or running) run or sweep
  health       exit 0 if this container's gradwire process is alive (HEALTHCHECK, probes);
               --ready: a worker is connected and holds its job (readiness probes)

Run 'gradwire <command> --help' for the options of a command.
`;

const COMMON = `  --log-format F         auto (pretty on a terminal, JSON otherwise) | json | pretty
  --debug                show stack traces of errors
  -h, --help             this help`;

const TRAIN_HELP = `gradwire train — train a model

Usage: gradwire train [--config run.yaml] [--workers N] [--out DIR] [--store FILE]
       gradwire train --in-process [--config run.yaml] [--out DIR] [--store FILE]

Options:
  --config FILE          run config, YAML or JSON (default: the built-in default run:
                         MNIST, MLP 784-256-128-10, relu, he_normal, Adam 1e-3, batch 128, 10 epochs)
  --workers N            local worker processes over WebSockets on loopback (default 2)
  --in-process           no sockets: train in this process (the reference run; same weights)
  --out DIR              outputs (default runs/<run id>): summary.json, epochs.csv, steps.csv,
                         config.json, checkpoint.gwc. A DIR holding a checkpoint of the same
                         config resumes from it.
  --store FILE           the experiment store (SQLite) the run is recorded in: its config, each
                         epoch's metrics, its summary and status [GRADWIRE_STORE] (default:
                         gradwire.db in DIR's parent folder: runs/gradwire.db for the default
                         DIR). 'gradwire runs' lists the runs, 'gradwire report ID' reports one.
${COMMON}

SIGTERM or Ctrl-C writes a checkpoint and exits 143 (130): stopped, not done. The same --out
resumes at that step, with the weights an uninterrupted run would have.
`;

const SWEEP_HELP = `gradwire sweep — a hyperparameter sweep on a local pool of workers

Usage: gradwire sweep --config sweep.yaml [--workers N] [--out DIR] [--resume] [--store FILE]
       gradwire sweep --preset lecture [--workers N] [--out DIR]

Options:
  --config FILE          sweep config, YAML or JSON (see README: base, method, metric, trials,
                         parameters, earlyStopping, ...)
  --preset lecture       the lecture's exercise: dropout × activation × init × batch norm (72 trials)
  --workers N            local worker processes (default 2)
  --out DIR              outputs (default sweeps/<sweep id>): trials.csv, summary.json,
                         report.html, trials/<i>/ (each trial's run outputs), sweep.json
  --store FILE           the experiment store, SQLite [GRADWIRE_STORE] (default DIR/gradwire.db)
  --resume               continue the sweep in DIR after a crash: finished trials are kept,
                         running ones requeued, nothing suggested twice
${COMMON}
`;

const COORDINATOR_HELP = `gradwire coordinator — serve a run or a sweep to workers

Usage: gradwire coordinator --config run.yaml --listen HOST:PORT [--store FILE] [options]
       gradwire coordinator --sweep sweep.yaml --listen HOST:PORT [--resume] [--store FILE] [options]

Options (environment variable in brackets):
  --config FILE          run config [GRADWIRE_CONFIG]; without it, the default run
  --sweep FILE           a sweep config instead of a run [GRADWIRE_SWEEP]; --resume and --store
                         as for 'gradwire sweep'; --min-workers sets the default concurrency
  --listen HOST:PORT     where workers connect (default 127.0.0.1:7070) [GRADWIRE_LISTEN].
                         Beyond loopback a token is required.
  --min-workers N        wait for N workers before the first step (default 1) [GRADWIRE_MIN_WORKERS]
  --out DIR              outputs (default runs/<run id>) [GRADWIRE_OUT]; resumes from a checkpoint there
  --store FILE           the experiment store the run (or sweep) is recorded in [GRADWIRE_STORE]
                         (default: a run's, gradwire.db in its --out DIR's parent folder, i.e.
                         runs/gradwire.db; a sweep's, DIR/gradwire.db)
  --token-file FILE      shared token workers must prove they know [GRADWIRE_TOKEN_FILE, or GRADWIRE_TOKEN]
  --tls-cert FILE --tls-key FILE
                         serve wss:// with this certificate [GRADWIRE_TLS_CERT, GRADWIRE_TLS_KEY]
  --heartbeat-timeout S  drop a worker silent for S seconds (default 10) [GRADWIRE_HEARTBEAT_TIMEOUT]
  --stay                 when the run or sweep is done, keep serving (/healthz says "done")
                         until SIGTERM, e.g. as a Kubernetes Deployment [GRADWIRE_STAY=1]
  --public-dashboard     serve the dashboard (/) and /metrics without the token
                         [GRADWIRE_PUBLIC_DASHBOARD=1]
${COMMON}

It exits 0 once the run's outputs are written (unless --stay); its workers exit with it. SIGTERM
(or Ctrl-C) before then writes a checkpoint and exits 143 (130): stopped, not done; run it again
with the same --out to resume. GET /healthz answers
{"status":"ok","state":"running"|"done",...}; with GRADWIRE_STATUS_FILE set, the coordinator
rewrites that file every 5 s for 'gradwire health'.

The same port serves the live dashboard at / and Prometheus metrics at /metrics. With a token
they need it: "Authorization: Bearer TOKEN", or log in at /login (a session cookie that is an
HMAC of the token, never the token). /healthz stays open.
`;

const RUNS_HELP = `gradwire runs — list the runs and sweeps of the experiment stores

Usage: gradwire runs [--store FILE]... [--all] [--json]

Without --store, reads the stores that exist among: $GRADWIRE_STORE, runs/gradwire.db,
sweeps/*/gradwire.db and ./gradwire.db (relative to the current folder). Oldest first.

Options:
  --store FILE           read this store (repeat for several) instead of the default ones
  --all                  list each sweep's trials too (under their sweep)
  --json                 a JSON array instead of the table: id, kind (run, trial, sweep), status,
                         store, createdAt, finishedAt, epochs, valAccuracy, testAccuracy, mode,
                         workers, sweepId, trial, trials, trialsPlanned, best
  -h, --help             this help

Columns: a run's VAL ACC and TEST ACC are its final ones (VAL ACC: its last recorded epoch's
while it runs); a sweep's are its best trial's (test accuracy: evaluated once, for that trial,
at the end of the sweep). TRIALS: ended / planned. MODE: in-process, or the workers of a
distributed run (known once it has finished).
`;

const REPORT_HELP = `gradwire report — a self-contained HTML report of a run or a sweep

Usage: gradwire report ID [--out FILE.html] [--store FILE]...

ID is a run id, a sweep trial's run id or a sweep id (as 'gradwire runs --all' lists them), or
the beginning of exactly one of them. The stores searched are those of 'gradwire runs'.

A run's report: summary (status, model, dataset, mode, workers, kernel, epochs, steps,
samples/s, accuracies, weights sha256, times), learning curves (loss and accuracy per epoch),
throughput per epoch, the per-epoch values and the resolved config. A sweep's report is the
one written at the end of the sweep (findings, best configuration, best so far, learning
curves, parallel coordinates, accuracy per value, all trials), made from the store: it works
for a sweep still running too. One HTML file, inline CSS and SVG: no network access needed.

Options:
  --out FILE             where to write it (default ./report-<id>.html); prints the path
  --store FILE           search this store (repeat for several) instead of the default ones
  -h, --help             this help
`;

const HEALTH_HELP = `gradwire health — is the gradwire process of this container alive (or ready)?

Usage: gradwire health [--ready] [--status-file FILE] [--max-age S]
       gradwire health --url http://HOST:PORT/healthz

Every long-running gradwire process (coordinator, worker, train, sweep) rewrites the file
named by GRADWIRE_STATUS_FILE every 5 s. This check exits 0 when that file is fresh and, for
a coordinator, its /healthz answers 200; else 1. It prints one line saying why. The container
image sets GRADWIRE_STATUS_FILE and runs this as its HEALTHCHECK; a Kubernetes exec probe can too.

With --ready it is a readiness check: a worker must also be connected to a coordinator and
hold its job (dataset loaded, model built); a coordinator is ready when it is healthy.
It prints "ready: ..." or "not ready: ..." (a Kubernetes readinessProbe).

Options:
  --ready                readiness instead of liveness (see above)
  --status-file FILE     the status file (default: GRADWIRE_STATUS_FILE)
  --max-age S            oldest acceptable status, seconds (default 30)
  --url URL              instead: GET this health URL (e.g. a coordinator's /healthz)
  --timeout S            how long to wait for an answer (default 5)
  -h, --help             this help
`;

type Values = Record<string, string | boolean | undefined>;

/**
 * The exit code of a run that a signal stopped before its outputs were written: 128 + the
 * signal's number (143 for SIGTERM, 130 for SIGINT), as a shell reports a process the signal
 * ended — so that a Kubernetes Job, compose or a script never takes a stopped run for a
 * finished one. Watch before the run starts; `code()` after it returned without a summary.
 */
function watchStopSignal(): { code(): number } {
  let by: 'SIGTERM' | 'SIGINT' | null = null;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => { by ??= sig; });
  return { code: () => 128 + osConstants.signals[by ?? 'SIGTERM'] };
}

const LOG_OPTIONS: ParseArgsConfig['options'] = {
  'log-format': { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

function parse(args: string[], options: ParseArgsConfig['options']): Values {
  return parseWithPositionals(args, options, false).values;
}

function parseWithPositionals(args: string[], options: ParseArgsConfig['options'], allowPositionals: boolean): { values: Values; positionals: string[] } {
  try {
    const r = parseArgs({ args, options: { ...LOG_OPTIONS, ...options }, allowPositionals, strict: true });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (e) {
    throw new UserError('USAGE', `${(e as Error).message.replace(/\. To specify.*$/s, '')}; see --help`);
  }
}

/** the values of a flag that may be repeated */
function many(v: Values, flag: string): string[] {
  const x = v[flag] as unknown;
  return Array.isArray(x) ? (x as string[]) : typeof x === 'string' ? [x] : [];
}

/** A new run: its experiment store (--store, else $GRADWIRE_STORE, else gradwire.db in the
 *  folder holding its --out folder: runs/gradwire.db for the default --out), its id
 *  (run-<UTC time>, then -2, -3, ... while that id is taken in the store or, without --out, its
 *  default folder runs/<id> exists) and its --out folder. */
function startRun(storeFlag: string | undefined, outFlag: string | undefined): { store: Store; id: string; outDir: string } {
  const env = process.env[STORE_ENV];
  const outOf = (id: string): string => resolve(outFlag ?? `runs/${id}`);
  const [path, source] = storeFlag !== undefined ? [resolve(storeFlag), '--store'] : env ? [resolve(env), STORE_ENV]
    : [join(dirname(outOf('x')), 'gradwire.db'), null];
  if (source === null) mkdirSync(dirname(path), { recursive: true });
  let store: Store;
  try {
    store = Store.open(path);
  } catch (e) {
    throw new UserError('USAGE', `${source ?? 'the experiment store'}: ${(e as Error).message}${source ? '' : '; pass --store FILE to record the run elsewhere'}`);
  }
  const base = runId();
  let id = base;
  for (let k = 2; store.run(id) || (outFlag === undefined && existsSync(outOf(id))); k++) id = `${base}-${k}`;
  return { store, id, outDir: outOf(id) };
}

/** a sweep's store: --store, else $GRADWIRE_STORE, else DIR/gradwire.db */
function sweepStorePath(flag: string | undefined, outDir: string): string {
  return resolve(flag ?? (process.env[STORE_ENV] || join(outDir, 'gradwire.db')));
}

function logFormat(v: Values): LogFormat {
  const format = (v['log-format'] ?? 'auto') as string;
  if (!['auto', 'json', 'pretty'].includes(format)) throw new UserError('USAGE', `--log-format: "${format}" is not one of auto, json, pretty`);
  return format as LogFormat;
}

function wholeNumber(flag: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new UserError('USAGE', `${flag}: "${raw}" must be a whole number >= ${min}`);
  return n;
}

/** A duration flag: a number of seconds > 0, or the fallback when not given. */
function seconds(flag: string, raw: string | undefined, fallback: number): number {
  const n = Number(raw ?? fallback);
  if (!(n > 0)) throw new UserError('USAGE', `${flag}: "${raw}" must be a number of seconds > 0`);
  return n;
}

function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UserError('USAGE', `${flag}: cannot read ${resolve(path)} (${(e as NodeJS.ErrnoException).code})`);
  }
}


export function parseListen(raw: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new UserError('USAGE', `--listen: "${raw}" is not HOST:PORT (e.g. 0.0.0.0:7070)`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

function runId(): string {
  return `run-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;
}

/** `train` and `sweep`'s pool: n worker processes on loopback. They do not write the
 *  container's status file: that one is this process's. */
function spawnLocalWorkers(n: number, port: number, pretty: boolean): ChildProcess[] {
  return Array.from({ length: n }, (_, i) => spawnWorker(
    ['--connect', `ws://127.0.0.1:${port}`, '--name', `local-${i + 1}`, '--log-level', 'warn', '--log-format', pretty ? 'pretty' : 'json'],
    'inherit', { [STATUS_ENV]: undefined }));
}

async function train(args: string[]): Promise<number> {
  const v = parse(args, { 'in-process': { type: 'boolean' }, config: { type: 'string' }, out: { type: 'string' }, workers: { type: 'string' }, store: { type: 'string' } });
  if (v['help']) {
    process.stdout.write(TRAIN_HELP);
    return 0;
  }
  const format = logFormat(v);
  const { config, baseDir } = loadRunConfig(v['config'] as string | undefined);
  const log = createLogger(format);
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const progress = process.stderr.isTTY === true;
  if (v['in-process']) {
    if (v['workers'] !== undefined) throw new UserError('USAGE', '--workers and --in-process exclude each other: --in-process uses no workers');
    const stop = new StopSignal();
    const stopped = watchStopSignal();
    process.once('SIGTERM', () => stop.stop());
    process.once('SIGINT', () => stop.stop());
    const data = loadDataset(config.data, baseDir, config.seed);
    const { store, id, outDir } = startRun(v['store'] as string | undefined, v['out'] as string | undefined);
    const status = StatusFile.fromEnv('coordinator', () => 'running');
    try {
      const summary = await recordRun(store, { runId: id, config, outDir, log }, (onEpoch) =>
        runTraining({ config, data, outDir, runId: id, log, progress, stepEvents: !pretty, stopSignal: stop, onEpoch }, IN_PROCESS));
      return summary ? 0 : stopped.code();
    } finally {
      status.stop();
      store.close();
    }
  }
  const n = wholeNumber('--workers', v['workers'] as string | undefined, 2, 1);
  const { store, id, outDir } = startRun(v['store'] as string | undefined, v['out'] as string | undefined);
  const workers: ChildProcess[] = [];
  const stopped = watchStopSignal();
  try {
    const summary = await runCoordinator({
      config, baseDir, outDir, runId: id, log, host: '127.0.0.1', port: 0, minWorkers: n, token: null, tls: null,
      heartbeatTimeoutMs: 10_000, progress, stepEvents: !pretty, store,
      onListening: (port) => workers.push(...spawnLocalWorkers(n, port, pretty)),
    });
    return summary ? 0 : stopped.code();
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGTERM');
    store.close();
  }
  return 0;
}

async function coordinator(args: string[]): Promise<number> {
  const v = parse(args, {
    config: { type: 'string' }, listen: { type: 'string' }, 'min-workers': { type: 'string' }, out: { type: 'string' },
    'token-file': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'heartbeat-timeout': { type: 'string' },
    sweep: { type: 'string' }, resume: { type: 'boolean' }, store: { type: 'string' }, stay: { type: 'boolean' },
    'public-dashboard': { type: 'boolean' },
  });
  if (v['help']) {
    process.stdout.write(COORDINATOR_HELP);
    return 0;
  }
  const env = process.env;
  const format = logFormat(v);
  const sweepFile = (v['sweep'] as string | undefined) ?? env['GRADWIRE_SWEEP'];
  if (sweepFile && v['config']) throw new UserError('USAGE', '--config and --sweep exclude each other: a coordinator serves a run or a sweep');
  const { config, baseDir } = loadRunConfig(sweepFile ? undefined : (v['config'] as string | undefined) ?? env['GRADWIRE_CONFIG']);
  const { host, port } = parseListen((v['listen'] as string | undefined) ?? env['GRADWIRE_LISTEN'] ?? '127.0.0.1:7070');
  const certFile = (v['tls-cert'] as string | undefined) ?? env['GRADWIRE_TLS_CERT'];
  const keyFile = (v['tls-key'] as string | undefined) ?? env['GRADWIRE_TLS_KEY'];
  if (!!certFile !== !!keyFile) throw new UserError('USAGE', '--tls-cert and --tls-key go together: give both or neither');
  const hb = seconds('--heartbeat-timeout', (v['heartbeat-timeout'] as string | undefined) ?? env['GRADWIRE_HEARTBEAT_TIMEOUT'], 10);
  const token = resolveToken({ flagFile: v['token-file'] as string | undefined, envFile: env['GRADWIRE_TOKEN_FILE'], envToken: env['GRADWIRE_TOKEN'], beyondLoopback: !isLoopback(host) },
    (flag, path) => readFlagFile(flag, path).toString('utf8'));
  const id = runId();
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const minWorkers = wholeNumber('--min-workers', (v['min-workers'] as string | undefined) ?? env['GRADWIRE_MIN_WORKERS'], 1, 1);
  const tls = certFile && keyFile ? { cert: readFlagFile('--tls-cert', certFile), key: readFlagFile('--tls-key', keyFile) } : null;
  const stay = v['stay'] === true || env['GRADWIRE_STAY'] === '1';
  const publicDashboard = v['public-dashboard'] === true || env['GRADWIRE_PUBLIC_DASHBOARD'] === '1';
  if (sweepFile) {
    const outDir = resolve((v['out'] as string | undefined) ?? env['GRADWIRE_OUT'] ?? `sweeps/${id.replace(/^run/, 'sweep')}`);
    await withPool({ host, port, token, tls, log: createLogger(format), heartbeatTimeoutMs: hb * 1000, stay, publicDashboard }, (server) => runSweep({
      file: sweepFile, preset: null, outDir, storePath: sweepStorePath(v['store'] as string | undefined, outDir),
      resume: v['resume'] === true, log: server.o.log, server, poolSize: minWorkers,
    }));
    return 0;
  }
  const { store, id: runIdentity, outDir } = startRun(v['store'] as string | undefined, (v['out'] as string | undefined) ?? env['GRADWIRE_OUT']);
  const stopped = watchStopSignal();
  try {
    const summary = await runCoordinator({
      config, baseDir, runId: runIdentity, log: createLogger(format), host, port, token, outDir,
      minWorkers, tls, stay, publicDashboard, store,
      heartbeatTimeoutMs: hb * 1000, progress: process.stderr.isTTY === true, stepEvents: !pretty,
    });
    return summary ? 0 : stopped.code();
  } catch (e) {
    const msg = (e as Error).message;
    if (/^refusing to listen/.test(msg) || (e as NodeJS.ErrnoException).code === 'EADDRINUSE' || (e as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') {
      throw new UserError('USAGE', `--listen ${host}:${port}: ${msg}`);
    }
    throw e;
  } finally {
    store.close();
  }
}

async function sweep(args: string[]): Promise<number> {
  const v = parse(args, {
    config: { type: 'string' }, preset: { type: 'string' }, workers: { type: 'string' }, out: { type: 'string' },
    resume: { type: 'boolean' }, store: { type: 'string' },
  });
  if (v['help']) {
    process.stdout.write(SWEEP_HELP);
    return 0;
  }
  const preset = v['preset'] as string | undefined;
  if (preset !== undefined && preset !== 'lecture') throw new UserError('USAGE', `--preset: "${preset}" is not one of lecture`);
  if (!preset === !v['config']) throw new UserError('USAGE', 'give --config sweep.yaml or --preset lecture (one of them)');
  const format = logFormat(v);
  const log = createLogger(format);
  const n = wholeNumber('--workers', v['workers'] as string | undefined, 2, 1);
  const outDir = resolve((v['out'] as string | undefined) ?? `sweeps/${runId().replace(/^run/, 'sweep')}`);
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const workers: ChildProcess[] = [];
  try {
    await withPool({ host: '127.0.0.1', port: 0, token: null, tls: null, log, heartbeatTimeoutMs: 10_000 }, (server, port) => {
      workers.push(...spawnLocalWorkers(n, port, pretty));
      return runSweep({
        file: (v['config'] as string | undefined) ?? null, preset: preset === 'lecture' ? 'lecture' : null, outDir,
        storePath: sweepStorePath(v['store'] as string | undefined, outDir), resume: v['resume'] === true, log, server, poolSize: n,
      });
    });
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGTERM');
  }
  return 0;
}

/** `gradwire worker` runs worker/main.ts in its own process: the coordinator's code and the
 *  worker's never share a process (and never import each other). */
function worker(args: string[]): Promise<number> {
  const child = spawnWorker(args, 'inherit');
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  return new Promise((res) => child.on('exit', (code, signal) => res(code ?? (signal ? 1 : 0))));
}

function runs(args: string[]): number {
  const v = parse(args, { store: { type: 'string', multiple: true }, all: { type: 'boolean' }, json: { type: 'boolean' } });
  if (v['help']) {
    process.stdout.write(RUNS_HELP);
    return 0;
  }
  const cwd = process.cwd();
  const { stores, warnings } = openStores(many(v, 'store'), cwd, process.env);
  try {
    for (const w of warnings) process.stderr.write(`gradwire: warning: ${w}\n`);
    const items = listExperiments(stores, { all: v['all'] === true });
    if (v['json']) process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
    else if (items.length === 0) process.stdout.write(`no runs or sweeps yet in ${stores.map((s) => s.path).join(', ')}\n`);
    else process.stdout.write(formatTable(items, cwd));
  } finally {
    for (const s of stores) s.close();
  }
  return 0;
}

function report(args: string[]): number {
  const { values: v, positionals } = parseWithPositionals(args, { out: { type: 'string' }, store: { type: 'string', multiple: true } }, true);
  if (v['help']) {
    process.stdout.write(REPORT_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UserError('USAGE', positionals.length === 0
      ? 'give the id of a run or sweep: gradwire report ID (gradwire runs lists them)'
      : `one id at a time: got ${positionals.map((p) => `"${p}"`).join(', ')}`);
  }
  const id = positionals[0]!;
  const cwd = process.cwd();
  const { stores, searched, warnings } = openStores(many(v, 'store'), cwd, process.env);
  try {
    for (const w of warnings) process.stderr.write(`gradwire: warning: ${w}\n`);
    const found = findExperiment(stores, id);
    if (!found) throw new UserError('USAGE', `no run or sweep "${id}" in ${searched}; gradwire runs lists them (--all with the trials)`);
    const realId = found.kind === 'run' ? found.run.id : found.sweep.id;
    const out = resolve(cwd, (v['out'] as string | undefined) ?? `report-${realId}.html`);
    const html = renderFound(found);
    try {
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, html);
    } catch (e) {
      throw new UserError('USAGE', `--out: cannot write ${out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    process.stdout.write(`${out}\n`);
  } finally {
    for (const s of stores) s.close();
  }
  return 0;
}

async function health(args: string[]): Promise<number> {
  const v = parse(args, { 'status-file': { type: 'string' }, 'max-age': { type: 'string' }, url: { type: 'string' }, timeout: { type: 'string' }, ready: { type: 'boolean' } });
  if (v['help']) {
    process.stdout.write(HEALTH_HELP);
    return 0;
  }
  const ready = v['ready'] === true;
  if (ready && v['url'] !== undefined) throw new UserError('USAGE', '--ready reads the status file; --url asks a URL instead: give one of them');
  const r = await checkHealth({
    statusFile: (v['status-file'] as string | undefined) ?? process.env[STATUS_ENV] ?? null,
    url: (v['url'] as string | undefined) ?? null,
    maxAgeMs: seconds('--max-age', v['max-age'] as string | undefined, 30) * 1000,
    timeoutMs: seconds('--timeout', v['timeout'] as string | undefined, 5) * 1000,
    ready,
  });
  const [yes, no] = ready ? ['ready', 'not ready'] : ['healthy', 'unhealthy'];
  process.stdout.write(`${r.ok ? yes : no}: ${r.message}\n`);
  return r.ok ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(MAIN_HELP);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'train': return train(rest);
    case 'coordinator': return coordinator(rest);
    case 'worker': return worker(rest);
    case 'sweep': return sweep(rest);
    case 'runs': return runs(rest);
    case 'report': return report(rest);
    case 'health': return health(rest);
    default:
      throw new UserError('USAGE', `unknown command "${command}"; the commands are: train, coordinator, worker, sweep, runs, report, health (see gradwire --help)`);
  }
}

const debug = process.argv.includes('--debug');
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (e: unknown) => {
  if (isUserError(e)) {
    process.stderr.write(`gradwire: error: ${e.message}\n`);
    if (debug) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`gradwire: internal error: ${(e as Error)?.stack ?? e}\n`);
    process.exitCode = 1;
  }
});
