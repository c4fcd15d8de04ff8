// Predictions and evaluation over an InputSource, chunk by chunk (memory stays flat): the CSV
// or JSON lines of `gradwire predict` (forward.ts's pass, numbers as bytes by format.ts), and the confusion matrix and loss sum of `gradwire
// evaluate`. The output goes to a writer that waits when its stream is full; the atomic --out
// file is output.ts's.
import { addToConfusion, emptyConfusion, type ConfusionMatrix } from '../../shared/metrics/classification.js';
import { NUMBER_MAX_BYTES, writeBytes, writeProbability, writeUint } from './format.js';
import { type FirstLayerPath, PredictForward } from './forward.js';
import { CHUNK_ROWS, type InputSource } from './input.js';
import { Runner, type LoadedModel } from './model.js';
import type { Kernels } from '../../shared/kernels/kernels.js';

export type PredictFormat = 'csv' | 'json';

/** a CSV cell: quoted when it holds a quote, a comma or a line break */
const cell = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export interface PredictResult {
  rows: number;
  /** rows whose label the input gave, and those predicted right */
  labelled: number;
  correct: number;
  /** rows whose first layer ran over the nonzero inputs only (forward.ts) */
  sparseRows: number;
}

/** Where the output goes. It may keep `bytes` until the promise it returns resolves (predictRows
 *  then fills them again); it returns nothing when it is done with them at once. */
export type PredictWrite = (bytes: string | Uint8Array) => Promise<void> | void;

/** Each chunk's rows as output lines into one of two reused buffers: while the writer holds one,
 *  the next chunk is formatted into the other. The numbers are written as bytes (format.ts). */
export async function predictRows(
  m: LoadedModel,
  source: InputSource,
  write: PredictWrite,
  format: PredictFormat,
  progress?: (rows: number) => void,
  /** the first layer's path (forward.ts; default auto: by each block's density) */
  path: FirstLayerPath = 'auto',
): Promise<PredictResult> {
  const forward = new PredictForward(m.model, CHUNK_ROWS, path);
  const C = m.classes;
  const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
  const csvNames = m.classNames.map((n) => utf8(`,${cell(n)},`));
  const jsonNames = m.classNames.map((n) => utf8(JSON.stringify(n)));
  const jsonKeys = m.classNames.map((n, c) => utf8(`${c ? ',' : ''}${JSON.stringify(n)}:`));
  const longest = (names: Buffer[]): number => Math.max(...names.map((b) => b.length));
  const rowBytes =
    64 +
    longest(csvNames) +
    longest(jsonNames) +
    jsonKeys.reduce((a, b) => a + b.length, 0) +
    (C + 1) * (NUMBER_MAX_BYTES + 1);
  const kern = m.model.k;
  const buffers = [kern.allocBytes(CHUNK_ROWS * rowBytes), kern.allocBytes(CHUNK_ROWS * rowBytes)];
  const held: Array<Promise<void> | void> = [undefined, undefined];
  let which = 0;
  if (format === 'csv') await write(`row,predicted,probability,${m.classNames.map((n) => cell(`p_${n}`)).join(',')}\n`);
  else await write('[');
  const jsonRow = utf8('\n{"row":');
  const jsonPredicted = utf8(',"predicted":');
  const jsonProbability = utf8(',"probability":');
  const jsonProbabilities = utf8(',"probabilities":{');
  const { text, pieces } = textPieces(
    kern,
    format === 'csv'
      ? ['', '', '', ...csvNames, '', '', ...m.classNames.map(() => ','), '\n']
      : [
          jsonRow,
          Buffer.concat([utf8(','), jsonRow]),
          jsonPredicted,
          ...jsonNames,
          jsonProbability,
          jsonProbabilities,
          ...jsonKeys,
          '}}',
        ],
  );
  /** rows first.. of probs/predicted as text at buf[0...] (the JS writer); returns the end */
  const writeRows = (buf: Uint8Array, rows: number, first: number): number => {
    const { probs, predicted } = forward;
    let pos = 0;
    for (let i = 0; i < rows; i++) {
      const k = predicted[i]!;
      const o = i * C;
      const r = first + i;
      if (format === 'csv') {
        pos = writeUint(buf, pos, r);
        pos = writeBytes(buf, pos, csvNames[k]!);
        pos = writeProbability(buf, pos, probs[o + k]!);
        for (let c = 0; c < C; c++) {
          buf[pos++] = 0x2c; // ','
          pos = writeProbability(buf, pos, probs[o + c]!);
        }
        buf[pos++] = 0x0a; // '\n'
      } else {
        if (r > 1) buf[pos++] = 0x2c;
        pos = writeBytes(buf, pos, jsonRow);
        pos = writeUint(buf, pos, r);
        pos = writeBytes(buf, pos, jsonPredicted);
        pos = writeBytes(buf, pos, jsonNames[k]!);
        pos = writeBytes(buf, pos, jsonProbability);
        pos = writeProbability(buf, pos, probs[o + k]!);
        pos = writeBytes(buf, pos, jsonProbabilities);
        for (let c = 0; c < C; c++) {
          pos = writeBytes(buf, pos, jsonKeys[c]!);
          pos = writeProbability(buf, pos, probs[o + c]!);
        }
        buf[pos++] = 0x7d; // '}'
        buf[pos++] = 0x7d;
      }
    }
    return pos;
  };
  let row = 0;
  let labelled = 0;
  let correct = 0;
  for await (const chunk of source.chunks()) {
    forward.run(chunk);
    const { probs, predicted } = forward;
    await held[which];
    const buf = buffers[which]!;
    const first = row + 1;
    row += chunk.rows;
    if (chunk.labels) {
      labelled += chunk.rows;
      for (let i = 0; i < chunk.rows; i++) if (chunk.labels[i] === predicted[i]) correct++;
    }
    // the rows' text by the kernels when they can (kernels.formatRows: the same bytes), else here
    let pos = kern.formatRows(probs, predicted, chunk.rows, C, first, text, pieces, buf);
    if (pos < 0) pos = writeRows(buf, chunk.rows, first);
    const written = write(buf.subarray(0, pos));
    // awaited before the buffer is filled again; a failure before then must not go unhandled
    written?.catch(() => undefined);
    held[which] = written;
    which ^= 1;
    progress?.(row);
  }
  await held[0];
  await held[1];
  if (format === 'json') await write(row ? '\n]\n' : ']\n');
  return { rows: row, labelled, correct, sparseRows: forward.sparseRows };
}

/** the pieces of a row's text (kernels.formatRows' order) as one byte string in the kernels'
 *  memory and their (offset, length) pairs */
export function textPieces(k: Kernels, parts: Array<string | Uint8Array>): { text: Uint8Array; pieces: Int32Array } {
  const bytes = parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p));
  const text = k.allocBytes(bytes.reduce((a, b) => a + b.length, 0));
  const pieces = k.allocInt32(2 * bytes.length);
  let at = 0;
  bytes.forEach((b, i) => {
    text.set(b, at);
    pieces[2 * i] = at;
    pieces[2 * i + 1] = b.length;
    at += b.length;
  });
  return { text, pieces };
}

export interface EvaluationSums {
  samples: number;
  lossSum: number;
  confusion: ConfusionMatrix;
}

/** The loss sum and confusion matrix over a labelled source, in the trainer's slots
 *  (min(microbatch, batchSize) rows): the loss is the trainer's evaluate's. */
export async function evaluateRows(m: LoadedModel, source: InputSource, chunkRows: number): Promise<EvaluationSums> {
  const runner = new Runner(m, evalSlotRows(m), chunkRows);
  const confusion = emptyConfusion(m.classes);
  let samples = 0;
  for await (const chunk of source.chunks()) {
    if (!chunk.labels) throw new Error('evaluateRows: a source without labels');
    runner.run(chunk.features(), chunk.rows, chunk.labels);
    for (let i = 0; i < chunk.rows; i++) addToConfusion(confusion, chunk.labels[i]!, runner.predicted[i]!);
    samples += chunk.rows;
  }
  return { samples, lossSum: runner.lossSum, confusion };
}

/** the trainer's evaluate slot size: min(microbatch, batchSize) */
export function evalSlotRows(m: LoadedModel): number {
  const cfg = m.resolved.checkpoint.config;
  return Math.min(cfg.microbatch, cfg.batchSize);
}

/** rows per chunk for evaluate: whole slots (the slots are then the trainer's) */
export const evalChunkRows = (m: LoadedModel): number => evalSlotRows(m) * Math.ceil(CHUNK_ROWS / evalSlotRows(m));
