// `gradwire predict --model RUN`: the predicted class and the class probabilities of every row
// of a CSV or IDX file (or of the run's own test split), streamed in chunks.
import { constants as osConstants } from 'node:os';
import { resolve } from 'node:path';
import { stratifiedSplit } from '../../shared/data/split.js';
import { UserError } from '../../shared/errors.js';
import { threadsFromText } from '../../shared/node/cpus.js';
import { FirstLayerThread } from '../model/first-layer-thread.js';
import { datasetSource, openInput, STDIN, type InputSource } from '../model/input.js';
import { loadModel, trainingDataset } from '../model/model.js';
import { fileOutput, stdoutOutput } from '../model/output.js';
import { predictRows, type PredictFormat } from '../model/predict.js';
import { resolveModel } from '../model/resolve.js';
import { many, modelFlag, parse } from './common.js';
import { checkOutFile, fsReason } from './paths.js';

const PREDICT_HELP = `gradwire predict — the classes a trained model predicts for new data

Usage: gradwire predict --model RUN [--input FILE|-] [--out FILE] [--format csv|json]

RUN is a run's folder (checkpoint.gwc, config.json), a run id or the beginning of one, or a
sweep id (its best trial), as 'gradwire runs --all' lists them.

The input is a CSV file with a header row (the model's features as columns, in training's
order, plus optionally the label column, which is then not a feature) or an IDX images file
(raw or gzip; pixels ÷ 255 as in training), read in chunks: memory stays flat however large;
--input - reads CSV from stdin. Without --input: the run's own test split. Output, in input order, one line a row:
  row,predicted,probability,p_<class>...
(row counts the input's samples from 1; class names as training's labels named them).

Options:
  --model RUN            the trained model (required)
  --input FILE           CSV or IDX file to predict, - for CSV on stdin (default: the
                         run's test split)
  --labels FILE          an IDX labels file for an IDX --input (the accuracy on stderr)
  --out FILE             write here, atomically (default: stdout, written once the whole
                         input was read, from a temporary copy in TMPDIR)
  --format F             csv (default) | json (an array of {row, predicted, probability,
                         probabilities})
  --store FILE           look RUN up in this store (repeat for several) instead of the
                         default ones
  --threads N|auto       threads: with 2 or more, a second thread computes the first layer
                         of rows whose inputs are mostly zeros (as IDX digits are) beside the
                         main one; the output is the same bytes (default auto: the CPUs this
                         process may use) [GRADWIRE_THREADS]
  -h, --help             this help

Errors in the input (a wrong number of features, a label the model does not know, a cell that
is not a number) stop it with one line and exit code 2, and write nothing: no --out file (an
existing one is left as it was), nothing on stdout.
`;

export async function predict(args: string[]): Promise<number> {
  const v = parse(args, {
    model: { type: 'string' },
    input: { type: 'string' },
    labels: { type: 'string' },
    out: { type: 'string' },
    format: { type: 'string' },
    store: { type: 'string', multiple: true },
    threads: { type: 'string' },
  });
  if (v.help) {
    process.stdout.write(PREDICT_HELP);
    return 0;
  }
  const threads =
    v.threads !== undefined
      ? threadsFromText('--threads', v.threads as string)
      : threadsFromText('GRADWIRE_THREADS', process.env.GRADWIRE_THREADS || undefined);
  // started by predictRows when the input is large enough to gain from it
  const thread = threads > 1 ? () => FirstLayerThread.start() : null;
  const cwd = process.cwd();
  const model = modelFlag(v);
  const format = (v.format ?? 'csv') as string;
  if (format !== 'csv' && format !== 'json')
    throw new UserError('USAGE', `--format: "${format}" is not one of csv, json`);
  const out =
    typeof v.out === 'string'
      ? checkOutFile('--out', resolve(cwd, v.out), 'give the path of a file in a folder you may write in')
      : null;
  if (v.labels !== undefined && v.input === undefined)
    throw new UserError('USAGE', '--labels goes with --input (an IDX images file)');
  const m = loadModel(resolveModel(model, { cwd, env: process.env, stores: many(v, 'store') }), cwd);
  let source: InputSource;
  if (typeof v.input === 'string') {
    source = openInput(
      m,
      v.input === STDIN ? STDIN : resolve(cwd, v.input),
      typeof v.labels === 'string' ? resolve(cwd, v.labels) : null,
    );
  } else {
    const data = m.training ?? trainingDataset(m.resolved, cwd);
    const cfg = m.resolved.checkpoint.config;
    const split = stratifiedSplit(data.y, data.classes, cfg.data.split, cfg.seed);
    source = datasetSource(`the test split of ${m.resolved.what}`, data, split.test);
  }
  const output = out ? fileOutput(out) : stdoutOutput();
  const tty = process.stderr.isTTY === true;
  const t0 = performance.now();
  let shown = 0;
  // Ctrl-C or SIGTERM before the end: no half --out file left, nothing on stdout
  const stop = (signal: NodeJS.Signals): void => {
    output.discard();
    process.stderr.write(
      `${tty && shown ? '\n' : ''}gradwire: stopped by ${signal} before the end of the input; nothing written\n`,
    );
    process.exit(128 + osConstants.signals[signal]);
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    const progress = (rows: number): void => {
      const now = performance.now();
      if (tty && now - shown > 250) {
        shown = now;
        process.stderr.write(
          `\rpredicted ${rows.toLocaleString('en-US')} rows (${Math.round((rows / (now - t0)) * 1000).toLocaleString('en-US')}/s)`,
        );
      }
    };
    const r = await predictRows(m, source, output.write, format as PredictFormat, { progress, thread });
    await output.commit();
    if (tty && shown) process.stderr.write('\n');
    const seconds = (performance.now() - t0) / 1000;
    const acc = r.labelled
      ? `; accuracy ${((r.correct / r.labelled) * 100).toFixed(2)}% (${r.correct}/${r.labelled} labelled rows)`
      : '';
    process.stderr.write(
      `gradwire: predicted ${r.rows} rows with ${m.resolved.what} in ${seconds.toFixed(2)} s${r.threadRows ? ' (2 threads)' : ''}${acc}${out ? `; wrote ${out}` : ''}\n`,
    );
    // the output is whole and the same either way; the user asked for threads and got one
    if (r.threadFailure)
      process.stderr.write(`gradwire: note: ${r.threadFailure}; the main thread predicted the rest\n`);
  } catch (e) {
    if (tty && shown) process.stderr.write('\n');
    await output.abort();
    const code = (e as NodeJS.ErrnoException).code;
    if (out && code && !(e instanceof UserError))
      throw new UserError(
        'USAGE',
        `--out ${out}: cannot write it (${fsReason(code)}); give the path of a file in a folder you may write in`,
      );
    throw e;
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
  }
  return 0;
}
