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
