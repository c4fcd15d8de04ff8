// The built-in digits as the predict tests and benches use them: an IDX file's bytes, and a run
// folder holding the default model (784-256-128-10) with the trainer's initial parameters (the
// speed and the equality of outputs do not depend on training).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMnist } from '../../coordinator/run/datasets.js';
import { encodeCheckpoint } from '../../shared/checkpoint.js';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import type { Dataset } from '../../shared/data/dataset.js';
import { Trainer } from '../../shared/engine/trainer.js';
import '../../shared/node/kernels-wasm.js';

/** an IDX file: magic 0x00 0x00 TYPE NDIMS, the big-endian dimensions, then the bytes */
export function idxFile(dims: number[], data: ArrayLike<number>, type = 0x08): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = type;
  h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, Buffer.from(Uint8Array.from(data))]);
}

export interface DigitsRun {
  /** the run folder (checkpoint.gwc, config.json) */
  run: string;
  data: Dataset;
  /** the 10,000 digits as pixels (they are stored with 3 decimals: pixel = round(x · 255)) */
  pixels: Uint8Array;
}

/** DIR/run with the default model, untrained, and the digits' pixels */
export function digitsRun(dir: string): DigitsRun {
  const data = loadMnist();
  const cfg = { ...DEFAULT_RUN_CONFIG, data: { ...DEFAULT_RUN_CONFIG.data, name: 'mnist' as const } };
  const run = join(dir, 'run');
  mkdirSync(run);
  writeFileSync(join(run, 'checkpoint.gwc'), encodeCheckpoint(cfg, new Trainer(cfg, data).state()));
  writeFileSync(join(run, 'config.json'), JSON.stringify(cfg));
  const pixels = new Uint8Array(data.n * data.features);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round(data.x[i]! * 255);
  return { run, data, pixels };
}

/** `times` copies of the digits as one IDX images file (n × 28 × 28) */
export function digitsIdx(pixels: Uint8Array, times = 1): Buffer {
  const all = new Uint8Array(pixels.length * times);
  for (let t = 0; t < times; t++) all.set(pixels, t * pixels.length);
  return idxFile([(pixels.length / 784) * times, 28, 28], all);
}
