// `gradwire runs`: list the runs and sweeps of the experiment stores.
import { formatTable, listExperiments, openStores } from '../report/experiments.js';
import { resolve } from 'node:path';
import { many, parse } from './common.js';
import { checkStoreToRead } from './paths.js';

const RUNS_HELP = `gradwire runs — list the runs and sweeps of the experiment stores

Usage: gradwire runs [--store FILE]... [--all] [--json]

Without --store, reads the stores that exist among: $GRADWIRE_STORE, runs/gradwire.db,
sweeps/*/gradwire.db and ./gradwire.db (relative to the current folder). Oldest first.

Options:
  --store FILE           read this store (repeat for several) instead of the default ones
  --all                  list each sweep's trials too (under their sweep)
  --json                 a JSON array instead of the table: id, kind (run, trial, sweep), status,
                         store, createdAt, finishedAt, epochs, valAccuracy, testAccuracy, mode,
                         workers, outDir, sweepId, trial, trials, trialsPlanned, best
  -h, --help             this help

Columns: a run's VAL ACC and TEST ACC are its final ones (VAL ACC: its last recorded epoch's
while it runs); a sweep's are its best trial's (test accuracy: evaluated once, for that trial,
at the end of the sweep). TRIALS: ended / planned. MODE: in-process, or the workers of a
distributed run (known once it has finished). FOLDER: where its outputs are (relative to the
current folder when inside it; "-" for runs of a store from before it was recorded).
`;

export function runs(args: string[]): number {
  const v = parse(args, {
    store: { type: 'string', multiple: true },
    all: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (v.help) {
    process.stdout.write(RUNS_HELP);
    return 0;
  }
  const cwd = process.cwd();
  for (const p of many(v, 'store')) checkStoreToRead('--store', resolve(cwd, p));
  const { stores, warnings } = openStores(many(v, 'store'), cwd, process.env);
  try {
    for (const w of warnings) process.stderr.write(`gradwire: warning: ${w}\n`);
    const items = listExperiments(stores, { all: v.all === true });
    if (v.json) process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
    else if (items.length === 0)
      process.stdout.write(`no runs or sweeps yet in ${stores.map((s) => s.path).join(', ')}\n`);
    else process.stdout.write(formatTable(items, cwd));
  } finally {
    for (const s of stores) s.close();
  }
  return 0;
}
