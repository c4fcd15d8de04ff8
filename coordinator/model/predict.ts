// Predictions and evaluation over an InputSource, chunk by chunk (memory stays flat): the CSV
// or JSON lines of `gradwire predict`, and the confusion matrix and loss sum of `gradwire
// evaluate`. The output goes to a writer that waits when its stream is full; the atomic --out
// file is output.ts's.
import { addToConfusion, emptyConfusion, type ConfusionMatrix } from '../../shared/metrics/classification.js';
import { CHUNK_ROWS, type InputSource } from './input.js';
import { Runner, type LoadedModel } from './model.js';

export type PredictFormat = 'csv' | 'json';

/** a CSV cell: quoted when it holds a quote, a comma or a line break */
const cell = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export interface PredictResult {
  rows: number;
  /** rows whose label the input gave, and those predicted right */
  labelled: number;
  correct: number;
}

/** The forward pass's slot size for predictions (evaluate uses the trainer's). */
export const PREDICT_SLOT_ROWS = 64;

export async function predictRows(
  m: LoadedModel,
  source: InputSource,
  write: (text: string) => Promise<void> | void,
  format: PredictFormat,
  progress?: (rows: number) => void,
  slotRows = PREDICT_SLOT_ROWS,
): Promise<PredictResult> {
  const runner = new Runner(m, slotRows, CHUNK_ROWS);
  const C = m.classes;
  const names = m.classNames;
  const jsonNames = names.map((n) => JSON.stringify(n));
  if (format === 'csv') await write(`row,predicted,probability,${names.map((n) => cell(`p_${n}`)).join(',')}\n`);
  else await write('[');
  const csvNames = names.map(cell);
  let row = 0;
  let labelled = 0;
  let correct = 0;
  for await (const chunk of source.chunks()) {
    runner.run(chunk.x, chunk.rows, null);
    const { probs, predicted } = runner;
    const out: string[] = [];
    for (let i = 0; i < chunk.rows; i++) {
      const k = predicted[i]!;
      const o = i * C;
      row++;
      if (chunk.labels) {
        labelled++;
        if (chunk.labels[i] === k) correct++;
      }
      if (format === 'csv') {
        let line = `${row},${csvNames[k]},${probs[o + k]}`;
        for (let c = 0; c < C; c++) line += `,${probs[o + c]}`;
        out.push(line);
      } else {
        let p = '';
        for (let c = 0; c < C; c++) p += `${c ? ',' : ''}${jsonNames[c]}:${probs[o + c]}`;
        out.push(
          `${row === 1 ? '' : ','}\n{"row":${row},"predicted":${jsonNames[k]},"probability":${probs[o + k]},"probabilities":{${p}}}`,
        );
      }
    }
    await write(format === 'csv' ? `${out.join('\n')}\n` : out.join(''));
    progress?.(row);
  }
  if (format === 'json') await write(row ? '\n]\n' : ']\n');
  return { rows: row, labelled, correct };
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
    runner.run(chunk.x, chunk.rows, chunk.labels);
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
