// `gradwire sweep`: a hyperparameter sweep on this machine: on the compute threads of this
// process (the default: each thread a trial seat) or on local worker processes (--workers N).
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { UserError } from '../../shared/errors.js';
import { withPool } from '../cluster/pool.js';
import { readSweepConfig } from '../sweep/start.js';
import { runSweep } from '../sweep/sweep.js';
import { COMMON, logFormat, logLevel, parse, runId, wholeNumber } from './common.js';
import { createLogger } from './log.js';
import { threadsFromText } from '../../shared/node/cpus.js';
import { checkSweepPaths, spawnLocalWorkers } from './start.js';

const SWEEP_HELP = `gradwire sweep — a hyperparameter sweep on this machine

Usage: gradwire sweep --config sweep.yaml [--threads N] [--workers N] [--out DIR] [--resume] [--store FILE]
       gradwire sweep --preset lecture [--threads N] [--workers N] [--out DIR]

Options:
  --config FILE          sweep config, YAML or JSON (see shared/sweep/README.md: base, method, metric,
                         trials, seeds, parameters, earlyStopping, ...). seeds: K (default 1)
                         trains every configuration K times, with seeds seed, seed+1, ... on the
                         same data split; its value is their mean, trials.csv adds the 95%
                         interval and each seed's value, and the seed runs fill the seats
  --preset lecture       the lecture's exercise: dropout × activation × init × batch norm (72 configurations × 3 seeds)
  --threads N            compute threads: auto (the CPUs this process may use, the cgroup's
                         CPU quota included) or a number. Each thread is a trial seat: N trials
                         (workersPerTrial: 1) run side by side in this process over one copy
                         of the dataset, no sockets (default auto) [GRADWIRE_THREADS]
  --workers N            instead: N local worker processes over WebSockets, with --threads
                         threads each (without --threads the CPUs are split between them)
  --out DIR              outputs (default sweeps/<sweep id>): trials.csv, summary.json,
                         report.html, trials/<i>/ (each trial's run outputs; with seeds, seed
                         run k >= 1's in trials/<i>-s<k>/), sweep.json
  --store FILE           the experiment store, SQLite [GRADWIRE_STORE] (default DIR/gradwire.db)
  --resume               continue the sweep in DIR after a crash: finished trials are kept,
                         running ones requeued, nothing suggested twice
${COMMON}
`;

export async function sweep(args: string[]): Promise<number> {
  const v = parse(args, {
    config: { type: 'string' },
    preset: { type: 'string' },
    workers: { type: 'string' },
    threads: { type: 'string' },
    out: { type: 'string' },
    resume: { type: 'boolean' },
    store: { type: 'string' },
  });
  if (v.help) {
    process.stdout.write(SWEEP_HELP);
    return 0;
  }
  const preset = v.preset as string | undefined;
  if (preset !== undefined && preset !== 'lecture')
    throw new UserError('USAGE', `--preset: "${preset}" is not one of lecture`);
  if (!preset === !v.config) throw new UserError('USAGE', 'give --config sweep.yaml or --preset lecture (one of them)');
  const format = logFormat(v);
  const level = logLevel(v);
  const log = createLogger(format, level);
  // no --workers: the trials run on this process's threads; --workers N: on N local processes
  const n = v.workers === undefined ? 0 : wholeNumber('--workers', v.workers as string, 1, 1);
  const cpus =
    v.threads !== undefined
      ? threadsFromText('--threads', v.threads as string)
      : threadsFromText('GRADWIRE_THREADS', process.env.GRADWIRE_THREADS || undefined);
  const threads = n === 0 || v.threads !== undefined ? cpus : Math.max(1, Math.floor(cpus / n));
  const outDir = resolve((v.out as string | undefined) ?? `sweeps/${runId().replace(/^run/, 'sweep')}`);
  // checked before the pool listens: the out folder, the store, the sweep config
  const storePath = checkSweepPaths(v.store as string | undefined, outDir);
  readSweepConfig((v.config as string | undefined) ?? null, preset === 'lecture' ? 'lecture' : null, '--config');
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const workers: ChildProcess[] = [];
  try {
    await withPool(
      { host: '127.0.0.1', port: 0, token: null, tls: null, log, heartbeatTimeoutMs: 10_000 },
      (server, port, telemetry) => {
        if (n > 0) workers.push(...spawnLocalWorkers(n, port, pretty, threads));
        return runSweep({
          file: (v.config as string | undefined) ?? null,
          preset: preset === 'lecture' ? 'lecture' : null,
          outDir,
          storePath,
          resume: v.resume === true,
          log,
          server,
          telemetry,
          poolSize: Math.max(1, n) * threads,
          ...(n === 0 ? { threads } : {}),
        });
      },
    );
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGTERM');
  }
  return 0;
}
