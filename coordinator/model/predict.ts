// Predictions and evaluation over an InputSource, chunk by chunk (memory stays flat): the CSV
// or JSON lines of `gradwire predict` (forward.ts's pass, numbers as bytes by format.ts), and the confusion matrix and loss sum of `gradwire
// evaluate`. The output goes to a writer that waits when its stream is full; the atomic --out
// file is output.ts's.
import { addToConfusion, emptyConfusion, type ConfusionMatrix } from '../../shared/metrics/classification.js';
import { NUMBER_MAX_BYTES, writeBytes, writeProbability, writeUint } from './format.js';
import { type FirstLayerPath, PredictForward } from './forward.js';
import type { FirstLayerThread, ThreadBlock } from './first-layer-thread.js';
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
  /** of those, the rows whose first layer the helper thread computed */
  threadRows: number;
  /** why the helper thread stopped before the end (its blocks were then computed here), or null */
  threadFailure: string | null;
}

/** Where the output goes. It may keep `bytes` until the promise it returns resolves (predictRows
 *  then fills them again); it returns nothing when it is done with them at once. */
export type PredictWrite = (bytes: string | Uint8Array) => Promise<void> | void;

/** A block of rows on its way: its first layer done here (h) or at the helper thread */
interface Pending {
  rows: number;
  labels: Int32Array | null;
  /** the first layer's output, when computed here */
  h: Float32Array | null;
  /** the block at the thread */
  thread: ThreadBlock | null;
  /** whether h or the thread's answer is there */
  settled: boolean;
}

/** blocks at most on their way before the main thread waits for the first */
const MAX_PENDING = 4;

/** Rows from which the helper thread takes blocks: all of an input at least this large (its
 *  size known from the start, as an IDX file's), or those after the first this many. Below it
 *  the thread does not pay: it takes 30–70 ms to start, handing it the layer ~15 ms, and the two
 *  threads slow each other down (on the 10,000 digits, used from the first row: 70.5k against
 *  75.1k samples/s; on 100,000 rows 1.30× faster; test/bench/predict.ts). */
export const THREAD_MIN_ROWS = 20_000;

export interface PredictOptions {
  /** told the rows done so far after each block */
  progress?: (rows: number) => void;
  /** the first layer's path (forward.ts; default auto: by each block's density) */
  path?: FirstLayerPath;
  /** a helper thread for the first layer (first-layer-thread.ts), or a function that starts
   *  one when a large input first needs it (closed here at the end), or none: all here */
  thread?: FirstLayerThread | (() => FirstLayerThread | null) | null;
  /** rows from which the thread takes blocks (default THREAD_MIN_ROWS) */
  threadMinRows?: number;
}

/** Each block's rows (FORWARD_BLOCK_ROWS, in input order) as output lines into one of two reused
 *  buffers: while the writer holds one, the next block is formatted into the other. The numbers are written as bytes (format.ts). */
export async function predictRows(
  m: LoadedModel,
  source: InputSource,
  write: PredictWrite,
  format: PredictFormat,
  opts: PredictOptions = {},
): Promise<PredictResult> {
  const { progress, path = 'auto', threadMinRows = THREAD_MIN_ROWS } = opts;
  /** the thread, once the input is large enough (a thread takes ~30–70 ms to start here: one
   *  started for a small input would only slow the main thread down) */
  let thread: FirstLayerThread | null = null;
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
  let threadRows = 0;
  let threadFailure: string | null = null;
  /** a block's probabilities as output lines, handed to the writer */
  const output = async (rows: number, labels: Int32Array | null): Promise<void> => {
    const { probs, predicted } = forward;
    await held[which];
    const buf = buffers[which]!;
    const first = row + 1;
    row += rows;
    if (labels) {
      labelled += rows;
      for (let i = 0; i < rows; i++) if (labels[i] === predicted[i]) correct++;
    }
    // the rows' text by the kernels when they can (kernels.formatRows: the same bytes), else here
    let pos = kern.formatRows(probs, predicted, rows, C, first, text, pieces, buf);
    if (pos < 0) pos = writeRows(buf, rows, first);
    const written = write(buf.subarray(0, pos));
    // awaited before the buffer is filled again; a failure before then must not go unhandled
    written?.catch(() => undefined);
    held[which] = written;
    which ^= 1;
  };
  const blockRows = forward.blockRows;
  // the thread is started (or taken) and given the layer when a large input first needs it
  const weights = opts.thread ? forward.sparseWeights() : null;
  let threadStarted = false;
  // Blocks whose first layer is done or under way, in input order. A block goes to the thread
  // when it takes the sparse first layer and the thread has room; else the main thread computes
  // its first layer (into a buffer of its own when blocks before it are still at the thread).
  // The head's later layers and output run as soon as its first layer is there.
  const pending: Pending[] = [];
  const spare: Float32Array[] = [];
  const finish = async (p: Pending): Promise<void> => {
    let h = p.h;
    if (!h) {
      h = forward.firstOut;
      const b = p.thread!;
      try {
        h.set(await b.done);
        forward.sparseRows += p.rows;
        threadRows += p.rows;
      } catch {
        // the thread failed: this block (and every later one) is computed here
        forward.firstSparse(b.input, p.rows, h);
      }
      thread!.release(b);
    }
    forward.rest(h, p.rows, 0);
    if (p.h && p.h !== forward.firstOut) spare.push(p.h);
    await output(p.rows, p.labels);
    progress?.(row);
  };
  try {
    await predictBlocks();
  } finally {
    // (set by predictBlocks: TypeScript does not follow it there)
    if (typeof opts.thread === 'function') await (thread as FirstLayerThread | null)?.close();
  }
  await held[0];
  await held[1];
  if (format === 'json') await write(row ? '\n]\n' : ']\n');
  return { rows: row, labelled, correct, sparseRows: forward.sparseRows, threadRows, threadFailure };

  async function predictBlocks(): Promise<void> {
    for await (const chunk of source.chunks()) {
      for (let start = 0; start < chunk.rows; start += blockRows) {
        const r = Math.min(blockRows, chunk.rows - start);
        const labels = chunk.labels ? chunk.labels.slice(start, start + r) : null;
        const { x, sparse } = forward.blockInput(chunk, start, r);
        if (weights && !threadStarted && (source.total ?? row) >= threadMinRows) {
          thread = typeof opts.thread === 'function' ? opts.thread() : (opts.thread ?? null);
          thread?.load(weights);
          threadStarted = true;
        }
        if (thread && sparse && thread.available) {
          const p: Pending = { rows: r, labels, h: null, thread: thread.run(r, x), settled: false };
          p.thread!.done.then(
            () => (p.settled = true),
            () => (p.settled = true),
          );
          pending.push(p);
        } else {
          const h = pending.length === 0 ? forward.firstOut : (spare.pop() ?? kern.alloc(forward.firstOut.length));
          if (sparse) forward.firstSparse(x, r, h);
          else forward.firstDense(x as Float32Array, r, h);
          pending.push({ rows: r, labels, h, thread: null, settled: true });
        }
        // the blocks whose first layer is there, in order; the thread's answers arrive between
        // turns of the event loop
        if (thread) await new Promise(setImmediate);
        while (pending.length > 0 && (pending[0]!.settled || pending.length > MAX_PENDING)) {
          await finish(pending.shift()!);
        }
      }
    }
    while (pending.length > 0) await finish(pending.shift()!);
    threadFailure = thread?.failed ?? null;
  }
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
