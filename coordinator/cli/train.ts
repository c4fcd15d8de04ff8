// `gradwire train`: one machine — every core this process may use as compute threads (the
// default), N local worker processes over loopback WebSockets (--workers N), or --in-process
// (the single-threaded reference run). All three give the same weights.
import type { ChildProcess } from 'node:child_process';
import { UserError } from '../../shared/errors.js';
import { StatusFile } from '../../shared/health.js';
import { runCoordinator } from '../cluster/pool.js';
import { loadRunConfig } from '../run/config-file.js';
import { exportAfterRun } from '../model/export.js';
import { loadDataset } from '../run/datasets.js';
import { IN_PROCESS, StopSignal, runTraining } from '../run/run-loop.js';
import { writeAtomic } from '../store/outputs.js';
import { recordRun } from '../run/record.js';
import { COMMON, logFormat, logLevel, parse, watchStopSignal, wholeNumber } from './common.js';
import { createLogger } from './log.js';
import { threadsFromText } from '../../shared/node/cpus.js';
import { checkReadableFile } from './paths.js';
import { spawnLocalWorkers, startRun } from './start.js';

const TRAIN_HELP = `gradwire train — train a model

Usage: gradwire train [--config run.yaml] [--threads N] [--out DIR] [--store FILE]
       gradwire train --workers N [--config run.yaml] [--out DIR] [--store FILE]
       gradwire train --in-process [--config run.yaml] [--out DIR] [--store FILE]

Options:
  --config FILE          run config, YAML or JSON (default: the built-in default run:
                         MNIST (its 10,000-digit subset), MLP 784-256-128-10, relu, he_normal,
                         Adam 1e-3, batch 128, 10 epochs)
  --threads N            compute threads in this process, or auto: the CPUs this process may
                         use, cgroup CPU quota included [GRADWIRE_THREADS] (default auto).
                         The dashboard and /metrics are served on a loopback port (logged).
  --workers N            instead of threads: N local worker processes over WebSockets on
                         loopback (a test of the network path on one machine)
  --in-process           one thread, no sockets: the reference run every mode matches bit for bit
  --out DIR              outputs (default runs/<run id>): summary.json, epochs.csv, steps.csv,
                         config.json, checkpoint.gwc. A DIR holding a checkpoint of the same
                         config resumes from it.
  --store FILE           the experiment store (SQLite) the run is recorded in: its config, each
                         epoch's metrics, its summary and status [GRADWIRE_STORE] (default:
                         gradwire.db in DIR's parent folder: runs/gradwire.db for the default
                         DIR). 'gradwire runs' lists the runs, 'gradwire report ID' reports one.
  --no-export            do not write DIR/model.onnx at the end (gradwire export --help)
${COMMON}

SIGTERM or Ctrl-C writes a checkpoint and exits 143 (130): stopped, not done. The same --out
resumes at that step, with the weights an uninterrupted run would have.
`;

export async function train(args: string[]): Promise<number> {
  const v = parse(args, {
    'in-process': { type: 'boolean' },
    config: { type: 'string' },
    out: { type: 'string' },
    workers: { type: 'string' },
    threads: { type: 'string' },
    store: { type: 'string' },
    'no-export': { type: 'boolean' },
  });
  if (v.help) {
    process.stdout.write(TRAIN_HELP);
    return 0;
  }
  const format = logFormat(v);
  const level = logLevel(v);
  const exclusive = (['in-process', 'workers', 'threads'] as const).filter((f) => v[f] !== undefined);
  if (exclusive.length > 1)
    throw new UserError(
      'USAGE',
      `--${exclusive[0]} and --${exclusive[1]} exclude each other: choose threads (the default), --workers N or --in-process`,
    );
  const n = v.workers === undefined ? 0 : wholeNumber('--workers', v.workers as string | undefined, 2, 1);
  const threads =
    n > 0 || v['in-process']
      ? undefined
      : v.threads !== undefined
        ? threadsFromText('--threads', v.threads as string)
        : threadsFromText('GRADWIRE_THREADS', process.env.GRADWIRE_THREADS || undefined);
  if (v.config !== undefined) checkReadableFile('--config', v.config as string, 'give the path of a run config file');
  const { config, baseDir } = loadRunConfig(v.config as string | undefined);
  const log = createLogger(format, level);
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const progress = process.stderr.isTTY === true;
  if (v['in-process']) {
    const stop = new StopSignal();
    const stopped = watchStopSignal();
    process.once('SIGTERM', () => stop.stop());
    process.once('SIGINT', () => stop.stop());
    const data = loadDataset(config.data, baseDir, config.seed);
    const { store, id, outDir } = startRun(v.store as string | undefined, v.out as string | undefined);
    const status = StatusFile.fromEnv(writeAtomic, 'coordinator', () => 'running');
    try {
      const summary = await recordRun(store, { runId: id, config, outDir, log }, (onEpoch) =>
        runTraining(
          { config, data, outDir, runId: id, log, progress, stepEvents: !pretty, stopSignal: stop, onEpoch },
          IN_PROCESS,
        ),
      );
      if (summary) exportAfterRun(outDir, baseDir, log, id, !v['no-export']);
      return summary ? 0 : stopped.code();
    } finally {
      status.stop();
      store.close();
    }
  }
  const { store, id, outDir } = startRun(v.store as string | undefined, v.out as string | undefined);
  const workers: ChildProcess[] = [];
  const stopped = watchStopSignal();
  try {
    const summary = await runCoordinator({
      config,
      baseDir,
      outDir,
      runId: id,
      log,
      host: '127.0.0.1',
      port: 0,
      minWorkers: n,
      token: null,
      tls: null,
      heartbeatTimeoutMs: 10_000,
      progress,
      stepEvents: !pretty,
      store,
      ...(threads ? { threads } : {}),
      onListening: (port) => {
        if (n > 0)
          workers.push(...spawnLocalWorkers(n, port, pretty)); // N processes share the cores: 1 thread each
        else log.info({ event: 'dashboard', url: `http://127.0.0.1:${port}/` }, `dashboard: http://127.0.0.1:${port}/`);
      },
    });
    if (summary) exportAfterRun(outDir, baseDir, log, id, !v['no-export']);
    return summary ? 0 : stopped.code();
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGTERM');
    store.close();
  }
  return 0;
}
