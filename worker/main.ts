// `gradwire worker`: the worker process (the Node shell around worker/client.ts). Flags, or the
// environment variables beside them (for containers).
import { constants as osConstants, homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { secondsOrNull, secondsProblem } from '../shared/durations.js';
import { StatusFile } from '../shared/health.js';
import { readFileNamedBy as readFlagFile, writeAtomic } from '../shared/node/files.js';
import { logLevelProblem } from '../shared/log-levels.js';
import { createLogger } from '../shared/node/log.js';
import '../shared/node/kernels-wasm.js';
import { threadsFromText } from '../shared/node/cpus.js';
import { resolveToken } from '../shared/token.js';
import { WorkerClient, defaultWorkerName } from './client.js';
import { parseThreadFault } from '../shared/node/threads/fault.js';

export const WORKER_HELP = `gradwire worker — join a coordinator's pool and compute gradients

Usage: gradwire worker --connect ws(s)://HOST:PORT [options]

Options (environment variable in brackets):
  --connect URL          the coordinator [GRADWIRE_CONNECT]
  --token-file FILE      file holding the shared token [GRADWIRE_TOKEN_FILE; or the token
                         itself in GRADWIRE_TOKEN]
  --name NAME            this worker's name in logs (default: HOSTNAME-PID) [GRADWIRE_WORKER_NAME]
  --stay                 stay in the pool when the run is done (default: exit 0) [GRADWIRE_STAY=1]
  --tls-ca FILE          trust this CA/certificate for wss:// (self-signed) [GRADWIRE_TLS_CA]
  --cache-dir DIR        dataset cache (default: ~/.cache/gradwire) [GRADWIRE_CACHE]
  --threads N            compute threads in this process: auto (the CPUs it may use, the
                         cgroup's CPU quota included) or a number; 1 computes in the main
                         thread (default auto) [GRADWIRE_THREADS]
  --heartbeat-timeout S  reconnect after S seconds without a word from the coordinator (default 10)
  --log-format F         auto | json | pretty
  --log-level L          pino level: debug | info | warn | error (default info) [GRADWIRE_LOG_LEVEL]
  -h, --help             this help

Liveness: with GRADWIRE_STATUS_FILE set, the worker rewrites that file every 5 s; 'gradwire
health' checks it (the container image's HEALTHCHECK). Readiness: 'gradwire health --ready'
passes while the worker is connected and holds its job (the file names the job).

Exit codes: 0 the run is done; 2 a usage error or an error retrying cannot fix (bad token,
other protocol version, incompatible runtime); 143 (130) stopped by SIGTERM (Ctrl-C) before
the run was done (with --stay a signal is the normal end: 0).
`;

function usage(message: string): never {
  process.stderr.write(`gradwire worker: error: ${message}\n`);
  process.exit(2);
}

export async function workerMain(args: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        connect: { type: 'string' },
        'token-file': { type: 'string' },
        name: { type: 'string' },
        stay: { type: 'boolean' },
        'tls-ca': { type: 'string' },
        'cache-dir': { type: 'string' },
        threads: { type: 'string' },
        'heartbeat-timeout': { type: 'string' },
        'log-format': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    usage(`${(e as Error).message}; see --help`);
  }
  if (values.help) {
    process.stdout.write(WORKER_HELP);
    return 0;
  }
  const env = process.env;
  const url = (values.connect as string | undefined) ?? env.GRADWIRE_CONNECT;
  if (!url) usage('--connect ws://HOST:PORT is required (or GRADWIRE_CONNECT)');
  if (!/^wss?:\/\/[^/]+/.test(url)) usage(`--connect: "${url}" is not a ws:// or wss:// URL`);
  const hb = secondsOrNull((values['heartbeat-timeout'] as string | undefined) ?? env.GRADWIRE_HEARTBEAT_TIMEOUT, 10);
  if (hb === null) usage(secondsProblem('--heartbeat-timeout', values['heartbeat-timeout'] as string | undefined));
  const caFile = (values['tls-ca'] as string | undefined) ?? env.GRADWIRE_TLS_CA;
  const format = (values['log-format'] as string | undefined) ?? 'auto';
  const level = (values['log-level'] as string | undefined) ?? env.GRADWIRE_LOG_LEVEL ?? 'info';
  const levelProblem = logLevelProblem(values['log-level'] === undefined ? 'GRADWIRE_LOG_LEVEL' : '--log-level', level);
  if (levelProblem) usage(levelProblem);
  const name = (values.name as string | undefined) ?? env.GRADWIRE_WORKER_NAME ?? defaultWorkerName();
  let token: string | null;
  try {
    token = resolveToken(
      {
        flagFile: values['token-file'] as string | undefined,
        envFile: env.GRADWIRE_TOKEN_FILE,
        envToken: env.GRADWIRE_TOKEN,
      },
      (flag, path) => readFlagFile(flag, path, 'give the path of the file holding the token').toString('utf8'),
    );
  } catch (e) {
    usage((e as Error).message);
  }
  let ca: Buffer | undefined;
  try {
    if (caFile)
      ca = readFlagFile(
        values['tls-ca'] !== undefined ? '--tls-ca' : 'GRADWIRE_TLS_CA',
        caFile,
        'give the path of a readable PEM file',
      );
  } catch (e) {
    usage((e as Error).message);
  }
  const threadsFlag = values.threads as string | undefined;
  let threads: number;
  let testFault: ReturnType<typeof parseThreadFault>;
  try {
    threads =
      threadsFlag !== undefined
        ? threadsFromText('--threads', threadsFlag)
        : threadsFromText('GRADWIRE_THREADS', env.GRADWIRE_THREADS || undefined);
    // a test hook, not for users: GRADWIRE_TEST_THREAD_FAULT=KIND:THREAD:STEP (compute.ts)
    testFault = parseThreadFault(env.GRADWIRE_TEST_THREAD_FAULT);
  } catch (e) {
    usage((e as Error).message);
  }
  const log = createLogger({ format, level, base: { worker: name } });
  const stay = values.stay === true || env.GRADWIRE_STAY === '1';
  const client = new WorkerClient({
    url,
    token,
    name,
    stay,
    cacheDir:
      (values['cache-dir'] as string | undefined) ?? env.GRADWIRE_CACHE ?? join(homedir(), '.cache', 'gradwire'),
    heartbeatTimeoutMs: hb * 1000,
    threads,
    testFault,
    log,
    ...(ca ? { ca } : {}),
  });
  // stopped by a signal: exit 128 + its number (143, 130) as a shell reports it, so that a
  // Kubernetes Job never counts a stopped worker as one whose run is done (exit 0). A worker
  // that stays in the pool (--stay) has no run of its own to finish: a signal is its normal end.
  let stoppedBy: 'SIGINT' | 'SIGTERM' | null = null;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      stoppedBy ??= sig;
      client.stop();
    });
  }
  const status = StatusFile.fromEnv(
    writeAtomic,
    'worker',
    () => client.state,
    () => ({ job: client.jobId }),
  );
  try {
    const code = await client.run();
    return stoppedBy && !stay ? 128 + osConstants.signals[stoppedBy] : code;
  } finally {
    status.stop();
  }
}

/** The worker process: `gradwire worker ARGS` (bin/gradwire.js runs it in its own process) or
 *  this file run directly (a coordinator's local workers). Exits with the worker's code. */
export function runWorker(args: string[]): void {
  workerMain(args).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`gradwire worker: internal error: ${(e as Error)?.stack ?? e}\n`);
      process.exit(1);
    },
  );
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) runWorker(process.argv.slice(2));
