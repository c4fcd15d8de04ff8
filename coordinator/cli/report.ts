// `gradwire report ID`: write a self-contained HTML report of a run or a sweep.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isUserError, UserError } from '../../shared/errors.js';
import { type Evaluation, evaluateSource, splitSource } from '../model/evaluate.js';
import { loadModel } from '../model/model.js';
import { resolveModel } from '../model/resolve.js';
import type { RunRecord } from '../store/records.js';
import { findExperiment, openStores } from '../report/experiments.js';
import { renderFound } from '../report/report.js';
import { many, parseWithPositionals } from './common.js';
import { checkOutFile, checkStoreToRead, fsReason } from './paths.js';

const REPORT_HELP = `gradwire report — a self-contained HTML report of a run or a sweep

Usage: gradwire report ID [--out FILE.html] [--store FILE]...

ID is a run id, a sweep trial's run id or a sweep id (as 'gradwire runs --all' lists them), or
the beginning of exactly one of them. The stores searched are those of 'gradwire runs'.

A run's report: summary (status, model, dataset, mode, workers, kernel, epochs, steps,
samples/s, accuracies, weights sha256, times), learning curves (loss and accuracy per epoch),
throughput per epoch, the evaluation on the test split (loss, accuracy, per-class precision,
recall and F1, confusion matrix: as 'gradwire evaluate' computes them from the run's folder),
the per-epoch values and the resolved config. A sweep's report is the
one written at the end of the sweep (findings, best configuration, best so far, learning
curves, parallel coordinates, accuracy per value, all trials), made from the store: it works
for a sweep still running too. One HTML file, inline CSS and SVG: no network access needed.

Options:
  --out FILE             where to write it (default ./report-<id>.html); prints the path
  --store FILE           search this store (repeat for several) instead of the default ones
  -h, --help             this help
`;

export async function report(args: string[]): Promise<number> {
  const { values: v, positionals } = parseWithPositionals(
    args,
    { out: { type: 'string' }, store: { type: 'string', multiple: true } },
    true,
  );
  if (v.help) {
    process.stdout.write(REPORT_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UserError(
      'USAGE',
      positionals.length === 0
        ? 'give the id of a run or sweep: gradwire report ID (gradwire runs lists them)'
        : `one id at a time: got ${positionals.map((p) => `"${p}"`).join(', ')}`,
    );
  }
  const id = positionals[0]!;
  const cwd = process.cwd();
  for (const p of many(v, 'store')) checkStoreToRead('--store', resolve(cwd, p));
  const out = resolve(cwd, (v.out as string | undefined) ?? 'report.html');
  // a file in a folder that is or can be made: checked before anything is read
  if (v.out !== undefined) checkOutFile('--out', out, 'give the path of an HTML file in a folder you may write in');
  const { stores, searched, warnings } = openStores(many(v, 'store'), cwd, process.env);
  try {
    for (const w of warnings) process.stderr.write(`gradwire: warning: ${w}\n`);
    const found = findExperiment(stores, id);
    if (!found)
      throw new UserError(
        'USAGE',
        `no run or sweep "${id}" in ${searched}; gradwire runs lists them (--all with the trials)`,
      );
    const realId = found.kind === 'run' ? found.run.id : found.sweep.id;
    const file = v.out !== undefined ? out : resolve(cwd, `report-${realId}.html`);
    const html = renderFound(found, undefined, found.kind === 'run' ? await testEvaluation(found.run, cwd) : null);
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, html);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new UserError(
        'USAGE',
        `--out ${file}: cannot write it (${fsReason(code)}); give the path of an HTML file in a folder you may write in`,
      );
    }
    process.stdout.write(`${file}\n`);
  } finally {
    for (const s of stores) s.close();
  }
  return 0;
}

/** A finished run's test split, as `gradwire evaluate` computes it from the run's folder, or
 *  why it is not there; a sweep's trial: none (the test split is its best trial's) */
async function testEvaluation(run: RunRecord, cwd: string): Promise<Evaluation | string | null> {
  if (run.kind === 'trial') return null;
  if (run.status !== 'finished') return `Not evaluated: the run is ${run.status}, not finished.`;
  if (!run.outDir) return 'Not evaluated: the store does not say where the run wrote its folder.';
  if (!existsSync(run.outDir)) return `Not evaluated: the run's folder ${run.outDir} is gone (moved or deleted?).`;
  try {
    // a warning (class names not found) is not the report's: the evaluation below says why it failed
    const m = loadModel(resolveModel(run.outDir, { cwd, env: process.env }), cwd, () => {});
    return await evaluateSource(m, splitSource(m, 'test', cwd));
  } catch (e) {
    if (!isUserError(e)) throw e;
    return `Not evaluated: ${e.message}`;
  }
}
