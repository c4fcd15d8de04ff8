// `gradwire coordinator`: serve a run or a sweep to workers on other machines.
import { exportAfterRun } from '../model/export.js';
import { resolve } from 'node:path';
import { UserError } from '../../shared/errors.js';
import { resolveToken } from '../../shared/token.js';
import { runCoordinator, withPool } from '../cluster/pool.js';
import { isLoopback } from '../cluster/auth.js';
import { loadRunConfig } from '../run/config-file.js';
import { readSweepConfig } from '../sweep/start.js';
import { runSweep } from '../sweep/sweep.js';
import {
  COMMON,
  logFormat,
  logLevel,
  parse,
  parseListen,
  readFlagFile,
  runId,
  seconds,
  watchStopSignal,
  wholeNumber,
} from './common.js';
import { createLogger } from './log.js';
import { checkReadableFile } from './paths.js';
import { checkSweepPaths, startRun } from './start.js';

const PEM = 'give the path of a readable PEM file';

const COORDINATOR_HELP = `gradwire coordinator — serve a run or a sweep to workers

Usage: gradwire coordinator --config run.yaml --listen HOST:PORT [--store FILE] [options]
       gradwire coordinator --sweep sweep.yaml --listen HOST:PORT [--resume] [--store FILE] [options]

Options (environment variable in brackets):
  --config FILE          run config [GRADWIRE_CONFIG]; without it, the default run
  --sweep FILE           a sweep config instead of a run [GRADWIRE_SWEEP]; --resume and --store
                         as for 'gradwire sweep'; each compute thread of a worker is a
                         trial seat (default concurrency: the pool's threads, at least
                         --min-workers, ÷ workersPerTrial)
  --listen HOST:PORT     where workers connect (default 127.0.0.1:7070) [GRADWIRE_LISTEN].
                         Beyond loopback a token is required.
  --min-workers N        wait for N workers before the first step (default 1) [GRADWIRE_MIN_WORKERS]
  --out DIR              outputs (default runs/<run id>) [GRADWIRE_OUT]; resumes from a checkpoint there
  --store FILE           the experiment store the run (or sweep) is recorded in [GRADWIRE_STORE]
                         (default: a run's, gradwire.db in its --out DIR's parent folder, i.e.
                         runs/gradwire.db; a sweep's, DIR/gradwire.db)
  --no-export            do not write model.onnx into the out folder at the end of a run
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
HMAC of the token, never the token). /healthz stays open. A browser joins the pool as a worker
at /join (open; the page proves the token it is given, typed in or after #token= in the URL).
`;

export async function coordinator(args: string[]): Promise<number> {
  const v = parse(args, {
    config: { type: 'string' },
    listen: { type: 'string' },
    'min-workers': { type: 'string' },
    out: { type: 'string' },
    'token-file': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'heartbeat-timeout': { type: 'string' },
    sweep: { type: 'string' },
    resume: { type: 'boolean' },
    store: { type: 'string' },
    stay: { type: 'boolean' },
    'public-dashboard': { type: 'boolean' },
    'no-export': { type: 'boolean' },
  });
  if (v.help) {
    process.stdout.write(COORDINATOR_HELP);
    return 0;
  }
  const env = process.env;
  const format = logFormat(v);
  const level = logLevel(v);
  const sweepFile = (v.sweep as string | undefined) ?? env.GRADWIRE_SWEEP;
  if (sweepFile && v.config)
    throw new UserError('USAGE', '--config and --sweep exclude each other: a coordinator serves a run or a sweep');
  const configFile = sweepFile ? undefined : ((v.config as string | undefined) ?? env.GRADWIRE_CONFIG);
  if (configFile)
    checkReadableFile(
      v.config !== undefined ? '--config' : 'GRADWIRE_CONFIG',
      configFile,
      'give the path of a run config file',
    );
  const { config, baseDir } = loadRunConfig(configFile);
  const { host, port } = parseListen((v.listen as string | undefined) ?? env.GRADWIRE_LISTEN ?? '127.0.0.1:7070');
  const certFile = (v['tls-cert'] as string | undefined) ?? env.GRADWIRE_TLS_CERT;
  const keyFile = (v['tls-key'] as string | undefined) ?? env.GRADWIRE_TLS_KEY;
  if (!!certFile !== !!keyFile)
    throw new UserError('USAGE', '--tls-cert and --tls-key go together: give both or neither');
  const hb = seconds(
    '--heartbeat-timeout',
    (v['heartbeat-timeout'] as string | undefined) ?? env.GRADWIRE_HEARTBEAT_TIMEOUT,
    10,
  );
  const token = resolveToken(
    {
      flagFile: v['token-file'] as string | undefined,
      envFile: env.GRADWIRE_TOKEN_FILE,
      envToken: env.GRADWIRE_TOKEN,
      beyondLoopback: !isLoopback(host),
    },
    (flag, path) => readFlagFile(flag, path, 'give the path of the file holding the token').toString('utf8'),
  );
  const id = runId();
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const minWorkers = wholeNumber(
    '--min-workers',
    (v['min-workers'] as string | undefined) ?? env.GRADWIRE_MIN_WORKERS,
    1,
    1,
  );
  const tls =
    certFile && keyFile
      ? {
          cert: readFlagFile(v['tls-cert'] !== undefined ? '--tls-cert' : 'GRADWIRE_TLS_CERT', certFile, PEM),
          key: readFlagFile(v['tls-key'] !== undefined ? '--tls-key' : 'GRADWIRE_TLS_KEY', keyFile, PEM),
        }
      : null;
  const stay = v.stay === true || env.GRADWIRE_STAY === '1';
  const publicDashboard = v['public-dashboard'] === true || env.GRADWIRE_PUBLIC_DASHBOARD === '1';
  const outFlag = v.out !== undefined ? '--out' : 'GRADWIRE_OUT';
  if (sweepFile) {
    const outDir = resolve(
      (v.out as string | undefined) ?? env.GRADWIRE_OUT ?? `sweeps/${id.replace(/^run/, 'sweep')}`,
    );
    // everything a sweep needs is checked before the coordinator listens: its config, out
    // folder and store
    const storePath = checkSweepPaths(v.store as string | undefined, outDir, outFlag);
    readSweepConfig(sweepFile, null, v.sweep !== undefined ? '--sweep' : 'GRADWIRE_SWEEP');
    await withPool(
      {
        host,
        port,
        token,
        tls,
        log: createLogger(format, level),
        heartbeatTimeoutMs: hb * 1000,
        stay,
        publicDashboard,
      },
      (server, _port, telemetry) =>
        runSweep({
          file: sweepFile,
          preset: null,
          outDir,
          storePath,
          resume: v.resume === true,
          log: server.o.log,
          server,
          telemetry,
          poolSize: minWorkers,
        }),
    );
    return 0;
  }
  const {
    store,
    id: runIdentity,
    outDir,
  } = startRun(v.store as string | undefined, (v.out as string | undefined) ?? env.GRADWIRE_OUT, outFlag);
  const stopped = watchStopSignal();
  const log = createLogger(format, level);
  try {
    const summary = await runCoordinator({
      config,
      baseDir,
      runId: runIdentity,
      log,
      host,
      port,
      token,
      outDir,
      minWorkers,
      tls,
      stay,
      publicDashboard,
      store,
      heartbeatTimeoutMs: hb * 1000,
      progress: process.stderr.isTTY === true,
      stepEvents: !pretty,
    });
    if (summary) exportAfterRun(outDir, baseDir, log, runIdentity, !v['no-export']);
    return summary ? 0 : stopped.code();
  } catch (e) {
    const msg = (e as Error).message;
    if (
      /^refusing to listen/.test(msg) ||
      (e as NodeJS.ErrnoException).code === 'EADDRINUSE' ||
      (e as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL'
    ) {
      throw new UserError('USAGE', `--listen ${host}:${port}: ${msg}`);
    }
    throw e;
  } finally {
    store.close();
  }
}
