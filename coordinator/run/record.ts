// Recording a run in the experiment store: the run's rows (started, one per epoch, its end)
// written around the training, and the epochs a resumed run inherits from its checkpoint.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { decodeCheckpoint, resumeProblem } from '../../shared/checkpoint.js';
import type { RunConfig } from '../../shared/config-types.js';
import { CHECKPOINT_FILE, readCsv, type EpochRow, type RunSummary } from '../store/outputs.js';
import type { Store, StoredEpochRow } from '../store/store.js';

export interface RecordRunOptions {
  runId: string;
  /** the resolved run config (what the run's config.json holds) */
  config: RunConfig;
  /** the run's output folder: a checkpoint there means the run resumes */
  outDir: string;
  log: Logger;
}

export type RecordEpoch = (row: EpochRow) => 'continue';

/**
 * Records one run (`gradwire train`, `gradwire coordinator --config`) in `store` around
 * `train`: 'running' when training starts, one metrics row per epoch (through the onEpoch it
 * hands to `train`), then 'finished' with the summary, 'stopped' (SIGTERM: checkpointed, no
 * summary; `train` returned null) or 'failed' (`train` threw; rethrown). A run resumed from a
 * checkpoint in its --out folder has a new id; the epochs it inherits (epochs.csv up to the
 * checkpoint's step) are recorded under it as well, so its curves cover the whole training.
 * Once training has started, a store that refuses a write costs a warning, never the run.
 * Without a store, `train` just runs.
 */
export async function recordRun(
  store: Store | null,
  o: RecordRunOptions,
  train: (onEpoch: RecordEpoch | undefined) => Promise<RunSummary | null>,
): Promise<RunSummary | null> {
  if (!store) return train(undefined);
  try {
    store.createRun(o.runId, 'run', o.config);
  } catch (e) {
    // e.g. another process took this id in the same second: train, unrecorded, rather than not at all
    o.log.warn(
      { run: o.runId, event: 'store-error', store: store.path, err: (e as Error).message },
      `experiment store ${store.path}: cannot record run ${o.runId} (${(e as Error).message}); training goes on unrecorded, outputs in ${o.outDir}`,
    );
    return train(undefined);
  }
  let warned = false;
  const attempt = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      if (warned) return;
      warned = true;
      o.log.warn(
        { run: o.runId, event: 'store-error', store: store.path, err: (e as Error).message },
        `experiment store ${store.path}: cannot record ${what} (${(e as Error).message}); training goes on, the outputs in ${o.outDir} are complete`,
      );
    }
  };
  attempt('the epochs inherited from the checkpoint', () => {
    for (const row of inheritedEpochs(o.outDir, o.config)) store.addEpoch(o.runId, row);
  });
  const onEpoch: RecordEpoch = (row) => {
    attempt(`epoch ${row.epoch}`, () => store.addEpoch(o.runId, row));
    return 'continue';
  };
  let summary: RunSummary | null;
  try {
    summary = await train(onEpoch);
  } catch (e) {
    attempt('the end of the run', () => store.finishRun(o.runId, 'failed', null));
    throw e;
  }
  attempt('the end of the run', () => store.finishRun(o.runId, summary ? 'finished' : 'stopped', summary));
  return summary;
}

/** the epochs a run resuming from `outDir`'s checkpoint starts with: the rows of its
 *  epochs.csv up to the checkpoint's step ([] without a checkpoint of this config) */
function inheritedEpochs(outDir: string, config: RunConfig): StoredEpochRow[] {
  const path = join(outDir, CHECKPOINT_FILE);
  if (!existsSync(path)) return [];
  const ckpt = decodeCheckpoint(readFileSync(path), path);
  // a config the run loop refuses to resume with: the run fails with that error
  if (resumeProblem(ckpt.config, config, path) !== null) return [];
  const n = (v: string | undefined): number => (v === undefined || v === '' ? NaN : Number(v));
  return readCsv(join(outDir, 'epochs.csv'))
    .filter((r) => n(r.step) <= ckpt.state.step)
    .map((r) => ({
      epoch: n(r.epoch),
      step: n(r.step),
      trainLoss: n(r.trainLoss),
      trainAccuracy: n(r.trainAccuracy),
      valLoss: n(r.valLoss),
      valAccuracy: n(r.valAccuracy),
      lr: n(r.lr),
      samplesPerSecond: n(r.samplesPerSecond),
    }));
}
