// Setting up a run or a sweep from the command line: its experiment store, its id and out
// folder, and the local worker processes of `train` and `sweep`.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { UserError } from '../../shared/errors.js';
import { STATUS_ENV } from '../../shared/health.js';
import { spawnWorker } from '../cluster/pool.js';
import { STORE_ENV } from '../report/experiments.js';
import { Store } from '../store/store.js';
import { runId } from './common.js';
import { checkOutFolder, checkStoreFile } from './paths.js';

/** A new run: its experiment store (--store, else $GRADWIRE_STORE, else gradwire.db in the
 *  folder holding its --out folder: runs/gradwire.db for the default --out), its id
 *  (run-<UTC time>, then -2, -3, ... while that id is taken in the store or, without --out, its
 *  default folder runs/<id> exists) and its --out folder. The out folder and the store are
 *  checked before anything is made (paths.ts): a problem with either is a UserError, with no
 *  store file, folder or run row left behind. `outFlag` names where --out came from (e.g.
 *  GRADWIRE_OUT). */
export function startRun(
  storeFlag: string | undefined,
  outPath: string | undefined,
  outFlag = '--out',
): { store: Store; id: string; outDir: string } {
  const env = process.env[STORE_ENV];
  const outOf = (id: string): string => resolve(outPath ?? `runs/${id}`);
  if (outPath !== undefined) checkOutFolder(outFlag, outPath);
  else checkOutFolder(`${outFlag} (default runs/<run id>)`, 'runs');
  const [path, source] =
    storeFlag !== undefined
      ? [resolve(storeFlag), '--store']
      : env
        ? [resolve(env), STORE_ENV]
        : [join(dirname(outOf('x')), 'gradwire.db'), null];
  if (source !== null) checkStoreFile(source, path, { createFolder: false });
  else
    checkStoreFile('the experiment store', path, {
      createFolder: true,
      todo: 'pass --store FILE to record the run elsewhere',
    });
  if (source === null) mkdirSync(dirname(path), { recursive: true });
  let store: Store;
  try {
    store = Store.open(path);
  } catch (e) {
    throw new UserError(
      'USAGE',
      `${source ?? 'the experiment store'}: ${(e as Error).message}${source ? '' : '; pass --store FILE to record the run elsewhere'}`,
    );
  }
  const base = runId();
  let id = base;
  for (let k = 2; store.run(id) || (outPath === undefined && existsSync(outOf(id))); k++) id = `${base}-${k}`;
  store.expectRun(id, outOf(id)); // `gradwire runs` shows the folder
  return { store, id, outDir: outOf(id) };
}

/** A sweep's out folder and store (--store, else $GRADWIRE_STORE, else DIR/gradwire.db),
 *  checked before anything is made (paths.ts). Returns the store's absolute path. */
export function checkSweepPaths(storeFlag: string | undefined, outDir: string, outFlag = '--out'): string {
  checkOutFolder(outFlag, outDir);
  const path = sweepStorePath(storeFlag, outDir);
  if (storeFlag !== undefined) checkStoreFile('--store', path, { createFolder: false });
  else if (process.env[STORE_ENV]) checkStoreFile(STORE_ENV, path, { createFolder: false });
  else
    checkStoreFile('the experiment store', path, {
      createFolder: true,
      todo: `pass --store FILE to record the sweep elsewhere, or choose another ${outFlag}`,
    });
  return path;
}

/** a sweep's store: --store, else $GRADWIRE_STORE, else DIR/gradwire.db */
export function sweepStorePath(flag: string | undefined, outDir: string): string {
  return resolve(flag ?? (process.env[STORE_ENV] || join(outDir, 'gradwire.db')));
}

/** `train` and `sweep`'s pool: n worker processes on loopback with `threads` compute threads
 *  each. They do not write the container's status file: that one is this process's. */
export function spawnLocalWorkers(n: number, port: number, pretty: boolean, threads = 1): ChildProcess[] {
  return Array.from({ length: n }, (_, i) =>
    spawnWorker(
      [
        '--connect',
        `ws://127.0.0.1:${port}`,
        '--name',
        `local-${i + 1}`,
        '--threads',
        String(threads),
        '--log-level',
        'warn',
        '--log-format',
        pretty ? 'pretty' : 'json',
      ],
      'inherit',
      { [STATUS_ENV]: undefined },
    ),
  );
}
