// model.onnx beside a finished run's checkpoint (train, coordinator; a sweep's best trial in
// the sweep's folder) and the files of `gradwire export`: shared/export's pure converters, the
// input width, classes and class names told by the run, written atomically.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { RunConfig } from '../../shared/config-types.js';
import type { TrainerState } from '../../shared/engine/trainer.js';
import { exportOnnx, exportSafetensors } from '../../shared/export/index.js';
import { writeAtomic } from '../../shared/node/files.js';
import { loadModel } from './model.js';
import { MODEL_INFO, type ModelInfo, resolveModel } from './resolve.js';

export type ExportFormat = 'onnx' | 'safetensors';

export const MODEL_ONNX = 'model.onnx';

export function exportBytes(
  format: ExportFormat,
  config: RunConfig,
  state: TrainerState,
  shape: { features: number; classes: number; classNames?: string[] | undefined },
): Uint8Array {
  const opts = {
    features: shape.features,
    classes: shape.classes,
    ...(shape.classNames ? { classNames: shape.classNames } : {}),
  };
  return format === 'onnx' ? exportOnnx(config, state, opts) : exportSafetensors(config, state, opts);
}

/** write `path` (atomically, its folder made when missing) with a model of this config and state */
export function writeExport(
  path: string,
  format: ExportFormat,
  config: RunConfig,
  state: TrainerState,
  shape: { features: number; classes: number; classNames?: string[] | undefined },
): string {
  const bytes = exportBytes(format, config, state, shape);
  mkdirSync(dirname(path), { recursive: true });
  writeAtomic(path, bytes);
  return path;
}

/** A finished run's folder: its checkpoint as DIR/model.onnx (`baseDir`: where the config's
 *  data paths are relative to, for a CSV's class names). Returns the path. */
export function exportRunFolder(dir: string, baseDir: string): string {
  const m = loadModel(resolveModel(dir, { cwd: baseDir, env: process.env }), baseDir);
  const { config, state } = m.resolved.checkpoint;
  return writeExport(join(dir, MODEL_ONNX), 'onnx', config, state, m);
}

/** After a finished run (train, coordinator): DIR/model.json (the input width, the classes and
 *  their names, the data's folder: predict and evaluate work from any folder) and, unless
 *  `onnx` is false (--no-export), DIR/model.onnx, logged; a failure is a warning (the run
 *  itself is done and recorded). */
export function exportAfterRun(dir: string, baseDir: string, log: Logger, runId: string, onnx = true): void {
  try {
    const m = loadModel(resolveModel(dir, { cwd: baseDir, env: process.env }), baseDir);
    const info: ModelInfo = { features: m.features, classes: m.classes, classNames: m.classNames, dataDir: baseDir };
    writeAtomic(join(dir, MODEL_INFO), `${JSON.stringify(info, null, 2)}\n`);
    if (!onnx) return;
    const { config, state } = m.resolved.checkpoint;
    const path = writeExport(join(dir, MODEL_ONNX), 'onnx', config, state, m);
    log.info({ run: runId, event: 'export', path }, `model exported to ${path}`);
  } catch (e) {
    log.warn(
      { run: runId, event: 'export-failed', error: (e as Error).message },
      `no model.onnx: ${(e as Error).message}`,
    );
  }
}

/** A sweep's best trial as the sweep's model.onnx (in `sweepDir`); a failure is a warning. */
export function exportSweepBest(
  sweepDir: string,
  config: RunConfig,
  state: TrainerState,
  data: { features: number; classes: number; classNames?: string[] | undefined },
): void {
  try {
    writeExport(join(sweepDir, MODEL_ONNX), 'onnx', config, state, data);
  } catch (e) {
    process.stderr.write(`gradwire: warning: the best trial's model.onnx was not written: ${(e as Error).message}\n`);
  }
}
