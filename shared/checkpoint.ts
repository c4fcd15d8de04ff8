// Checkpoints: parameters, BN buffers, optimizer state, step/epoch and data-order position,
// and the config they belong to, encoded with msgpackr (typed arrays travel as typed arrays).
// Pure encode/decode; writing the file atomically is the caller's job.
import { Packr } from 'msgpackr';
import type { RunConfig } from './config-types.js';
import type { TrainerState } from './engine/trainer.js';
import { UserError } from './errors.js';

export const CHECKPOINT_FORMAT = 'gradwire-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  config: RunConfig;
  state: TrainerState;
  /** sha256 of the dataset the run trained on, when known */
  datasetSha256?: string;
}

const packr = new Packr({ moreTypes: true, structuredClone: false, useRecords: false });

export function encodeCheckpoint(config: RunConfig, state: TrainerState, datasetSha256?: string): Uint8Array {
  const ckpt: Checkpoint = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, config, state };
  if (datasetSha256) ckpt.datasetSha256 = datasetSha256;
  return packr.pack(ckpt);
}

export function decodeCheckpoint(bytes: Uint8Array, fileName: string): Checkpoint {
  let c: Partial<Checkpoint>;
  try {
    c = packr.unpack(bytes) as Partial<Checkpoint>;
  } catch (e) {
    throw new UserError('CHECKPOINT_INVALID', `${fileName}: not a gradwire checkpoint (${(e as Error).message})`);
  }
  if (c?.format !== CHECKPOINT_FORMAT)
    throw new UserError('CHECKPOINT_INVALID', `${fileName}: not a gradwire checkpoint`);
  if (c.version !== CHECKPOINT_VERSION) {
    throw new UserError(
      'CHECKPOINT_INVALID',
      `${fileName}: checkpoint version ${c.version} is not supported (this gradwire reads version ${CHECKPOINT_VERSION})`,
    );
  }
  const s = c.state;
  if (!s || !(s.params instanceof Float32Array) || !(s.buffers instanceof Float32Array) || !c.config) {
    throw new UserError(
      'CHECKPOINT_INVALID',
      `${fileName}: checkpoint is incomplete (state, params, buffers and config are required)`,
    );
  }
  return c as Checkpoint;
}

/** The keys that only say when checkpoints are written. When a checkpoint is written never
 *  changes the training result (a checkpoint is a copy of the trainer's state, and resuming
 *  from one is exact), so a run resumes whatever these say, and a checkpoint written before
 *  a key existed still resumes. */
const CADENCE_KEYS: readonly (keyof RunConfig)[] = ['checkpointEvery', 'checkpointSeconds'];

/** The schedules whose learning rate at a step depends only on the step and the epoch, not
 *  on the run's length (cosine anneals over all the run's steps). Any other schedule is taken
 *  to depend on it, so a run with it is never extended. */
const LENGTH_FREE_SCHEDULES: ReadonlySet<string> = new Set(['constant', 'step', 'exponential']);

function withoutCadence(c: RunConfig): string {
  const rest: Partial<RunConfig> = { ...c };
  for (const k of CADENCE_KEYS) delete rest[k];
  return JSON.stringify(rest);
}

/**
 * Why a run of `config` may not resume from the checkpoint `fileName` written by a run of
 * `saved`, or null when it may: with the same config (the checkpoint cadence aside), or with
 * more epochs when the learning-rate schedule does not depend on the run's length — then the
 * steps already taken are exactly those of a run of the larger `epochs` (every other input of
 * a step — the epoch's sample order, dropout masks, the optimizer — depends on the seed, the
 * step and the epoch, never on the total), so the extended run ends with the weights of that
 * run trained from the start.
 */
export function resumeProblem(saved: RunConfig, config: RunConfig, fileName: string): string | null {
  if (withoutCadence(saved) === withoutCadence(config)) return null;
  const another = `${fileName} belongs to a run with another config; give the same config to resume it, or another --out`;
  if (config.epochs <= saved.epochs || withoutCadence({ ...config, epochs: saved.epochs }) !== withoutCadence(saved))
    return another;
  const schedule = config.optimizer.schedule.name;
  if (LENGTH_FREE_SCHEDULES.has(schedule)) return null;
  return (
    `${fileName} was trained with epochs: ${saved.epochs}, and its learning-rate schedule (optimizer.schedule: ${schedule}) ` +
    `depends on the number of epochs (it spreads over all the run's steps), so the steps already taken are not those ` +
    `of a run of ${config.epochs} epochs: train with epochs: ${config.epochs} from the start in another --out, ` +
    `or resume with epochs: ${saved.epochs}`
  );
}
