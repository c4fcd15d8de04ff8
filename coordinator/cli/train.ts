// `gradwire train`: one machine — a coordinator and N local worker processes over loopback
// WebSockets, or --in-process (the single-threaded reference run).
import type { ChildProcess } from 'node:child_process';
import { UserError } from '../../shared/errors.js';
import { StatusFile } from '../../shared/health.js';
import { runCoordinator } from '../cluster/pool.js';
import { loadRunConfig } from '../run/config-file.js';
import { loadDataset } from '../run/datasets.js';
import { IN_PROCESS, StopSignal, runTraining } from '../run/run-loop.js';
import { writeAtomic } from '../store/outputs.js';
import { recordRun } from '../run/record.js';
import { COMMON, logFormat, parse, watchStopSignal, wholeNumber } from './common.js';
import { createLogger } from './log.js';
import { spawnLocalWorkers, startRun } from './start.js';

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

export async function train(args: string[]): Promise<number> {
  const v = parse(args, {
    'in-process': { type: 'boolean' },
    config: { type: 'string' },
    out: { type: 'string' },
    workers: { type: 'string' },
    store: { type: 'string' },
  });
  if (v.help) {
    process.stdout.write(TRAIN_HELP);
    return 0;
  }
  const format = logFormat(v);
  const { config, baseDir } = loadRunConfig(v.config as string | undefined);
  const log = createLogger(format);
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const progress = process.stderr.isTTY === true;
  if (v['in-process']) {
    if (v.workers !== undefined)
      throw new UserError('USAGE', '--workers and --in-process exclude each other: --in-process uses no workers');
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
      return summary ? 0 : stopped.code();
    } finally {
      status.stop();
      store.close();
    }
  }
  const n = wholeNumber('--workers', v.workers as string | undefined, 2, 1);
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
      onListening: (port) => workers.push(...spawnLocalWorkers(n, port, pretty)),
    });
    return summary ? 0 : stopped.code();
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGTERM');
    store.close();
  }
  return 0;
}
