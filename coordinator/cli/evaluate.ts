// `gradwire evaluate --model RUN`: loss, accuracy, per-class precision/recall/F1 and the
// confusion matrix of a trained model on a split of its own data or on a labelled file.
import { resolve } from 'node:path';
import { UserError } from '../../shared/errors.js';
import { type Evaluation, evaluateSource, type SplitName, splitSource } from '../model/evaluate.js';
import { openInput, STDIN } from '../model/input.js';
import { loadModel } from '../model/model.js';
import { evalChunkRows } from '../model/predict.js';
import { resolveModel } from '../model/resolve.js';
import { many, modelFlag, parse } from './common.js';

const EVALUATE_HELP = `gradwire evaluate — how well a trained model classifies a split of its data or a file

Usage: gradwire evaluate --model RUN [--data FILE|- [--labels FILE] | --split test|val|train] [--json]

RUN is a run's folder, a run id or the beginning of one, or a sweep id (its best trial), as
'gradwire runs --all' lists them. Prints the loss, the accuracy, each class's precision,
recall, F1 and support (with their macro and support-weighted averages) and the confusion
matrix (rows: the actual class, columns: the predicted one). The split is the run's own (its
config's data, seed and data.split): on the test split, the accuracy and loss are the run's
summary.json testAccuracy and testLoss, and the numbers of the "Evaluation on the test
split" section of 'gradwire report RUN_ID'.

Options:
  --model RUN            the trained model (required)
  --split S              test (default) | val | train: a split of the run's training data
  --data FILE            a labelled CSV file (the label column training used) or IDX images
                         file instead, read in chunks; - reads a CSV from stdin
  --labels FILE          the IDX labels file of an IDX --data file
  --json                 print the numbers as JSON
  --store FILE           look RUN up in this store (repeat for several) instead of the
                         default ones
  -h, --help             this help
`;

export async function evaluate(args: string[]): Promise<number> {
  const v = parse(args, {
    model: { type: 'string' },
    data: { type: 'string' },
    labels: { type: 'string' },
    split: { type: 'string' },
    json: { type: 'boolean' },
    store: { type: 'string', multiple: true },
  });
  if (v.help) {
    process.stdout.write(EVALUATE_HELP);
    return 0;
  }
  const cwd = process.cwd();
  const model = modelFlag(v);
  const split = (v.split ?? 'test') as string;
  if (!['test', 'val', 'train'].includes(split))
    throw new UserError('USAGE', `--split: "${split}" is not one of test, val, train`);
  if (v.data !== undefined && v.split !== undefined)
    throw new UserError('USAGE', '--data and --split: give one of them');
  if (v.labels !== undefined && v.data === undefined)
    throw new UserError('USAGE', '--labels goes with --data (an IDX images file)');
  const m = loadModel(resolveModel(model, { cwd, env: process.env, stores: many(v, 'store') }), cwd);
  const source =
    typeof v.data === 'string'
      ? openInput(
          m,
          v.data === STDIN ? STDIN : resolve(cwd, v.data),
          typeof v.labels === 'string' ? resolve(cwd, v.labels) : null,
          evalChunkRows(m),
        )
      : splitSource(m, split as SplitName, cwd);
  const result = await evaluateSource(m, source);
  process.stdout.write(v.json ? `${JSON.stringify(result, null, 2)}\n` : formatEvaluation(result));
  return 0;
}

const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;
const f3 = (v: number): string => v.toFixed(3);

function table(head: string[], rows: string[][], leftCols = 1): string {
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((s, c) => (c < leftCols ? s.padEnd(w[c]!) : s.padStart(w[c]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export function formatEvaluation(e: Evaluation): string {
  const names = e.classNames;
  const perClass = table(
    ['class', 'precision', 'recall', 'f1', 'support'],
    [
      ...e.perClass.map((c, i) => [names[i]!, f3(c.precision), f3(c.recall), f3(c.f1), String(c.support)]),
      ['macro avg', f3(e.macro.precision), f3(e.macro.recall), f3(e.macro.f1), String(e.samples)],
      ['weighted avg', f3(e.weighted.precision), f3(e.weighted.recall), f3(e.weighted.f1), String(e.samples)],
    ],
  );
  const confusion = table(
    ['actual \\ predicted', ...names],
    e.confusion.map((row, i) => [names[i]!, ...row.map(String)]),
  );
  return [
    `model: ${e.model}`,
    `data: ${e.data} (${e.samples} samples)`,
    `loss ${e.loss.toFixed(4)}  accuracy ${pct(e.accuracy)} (${e.correct}/${e.samples})`,
    '',
    perClass,
    '',
    'confusion matrix (rows: actual class, columns: predicted class)',
    confusion,
    '',
  ].join('\n');
}
