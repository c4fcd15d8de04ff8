// Checking the paths a command is given (--out, --store, --config, --token-file, --tls-*)
// before it starts anything: each problem is one UserError sentence naming the flag (or the
// environment variable), the path, what is wrong and what to do — exit 2, and no run row in a
// store nor a half-made out folder. Nothing here creates or changes a file.
import { accessSync, closeSync, constants, openSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../shared/errors.js';
import { fsReason } from '../../shared/node/files.js';

export { fsReason };

const code = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

function fail(flag: string, path: string, what: string, todo: string): never {
  throw new UserError('USAGE', `${flag} ${path}: ${what}; ${todo}`);
}

/** A file to read (a config, a token, a certificate): it exists, is a file and opens for
 *  reading. Returns the absolute path. */
export function checkReadableFile(flag: string, path: string, todo = 'give the path of a readable file'): string {
  const abs = resolve(path);
  try {
    if (statSync(abs).isDirectory()) fail(flag, abs, fsReason('EISDIR'), todo);
    closeSync(openSync(abs, 'r'));
  } catch (e) {
    if (e instanceof UserError) throw e;
    fail(flag, abs, fsReason(code(e)), todo);
  }
  return abs;
}

/** The bytes of a file a flag names (checkReadableFile's sentences when it cannot be read). */
export function readFlagFile(flag: string, path: string, todo?: string): Buffer {
  const abs = checkReadableFile(flag, path, todo);
  try {
    return readFileSync(abs);
  } catch (e) {
    return fail(flag, abs, fsReason(code(e)), todo ?? 'give the path of a readable file');
  }
}

/** The nearest folder at or above `abs` that exists (null when a part of the path is a file,
 *  reported by the caller). */
function existingFolder(flag: string, abs: string, todo: string, from = abs): string {
  let p = from;
  for (;;) {
    try {
      const st = statSync(p);
      if (!st.isDirectory())
        fail(
          flag,
          abs,
          p === abs ? 'it is a file, not a folder' : `${p} is a file, so no folder can be made under it`,
          todo,
        );
      return p;
    } catch (e) {
      if (e instanceof UserError) throw e;
      const c = code(e);
      if ((c !== 'ENOENT' && c !== 'ENOTDIR') || dirname(p) === p) fail(flag, abs, fsReason(c), todo);
      p = dirname(p);
    }
  }
}

function writableFolder(flag: string, abs: string, folder: string, todo: string): void {
  try {
    accessSync(folder, constants.W_OK | constants.X_OK);
  } catch (e) {
    fail(flag, abs, `cannot write in ${folder} (${fsReason(code(e))})`, todo);
  }
}

/** An output folder (--out): a folder this process may write in, or one it may create (its
 *  nearest existing parent is a folder it may write in). Returns the absolute path. */
export function checkOutFolder(flag: string, path: string, todo = 'give a folder you may write in'): string {
  const abs = resolve(path);
  writableFolder(flag, abs, existingFolder(flag, abs, todo), todo);
  return abs;
}

/** A file a command writes (report --out): not a folder, and in a folder this process may
 *  write in or create. Returns the absolute path. */
export function checkOutFile(flag: string, path: string, todo: string): string {
  const abs = resolve(path);
  try {
    if (statSync(abs).isDirectory()) fail(flag, abs, fsReason('EISDIR'), todo);
  } catch (e) {
    if (e instanceof UserError) throw e;
  }
  writableFolder(flag, abs, existingFolder(flag, abs, todo, dirname(abs)), todo);
  return abs;
}

/** An experiment store a command writes to: an existing file it may read and write, or a new
 *  file in a folder it may write in — that folder must exist unless `createFolder` (the
 *  default store, whose folder the command makes). Returns the absolute path. */
export function checkStoreFile(flag: string, path: string, opts: { createFolder: boolean; todo?: string }): string {
  const abs = resolve(path);
  const todo = opts.todo ?? 'give a file such as DIR/gradwire.db in a folder you may write in';
  let exists = false;
  try {
    const st = statSync(abs);
    if (st.isDirectory()) fail(flag, abs, fsReason('EISDIR'), todo);
    exists = true;
    closeSync(openSync(abs, 'r+'));
  } catch (e) {
    if (e instanceof UserError) throw e;
    const c = code(e);
    if (exists || c !== 'ENOENT') fail(flag, abs, fsReason(c), todo);
  }
  const dir = dirname(abs);
  if (opts.createFolder) {
    writableFolder(flag, abs, existingFolder(flag, abs, todo, dir), todo);
    return abs;
  }
  try {
    if (!statSync(dir).isDirectory()) fail(flag, abs, `${dir} is a file, not a folder`, todo);
  } catch (e) {
    if (e instanceof UserError) throw e;
    fail(flag, abs, `folder ${dir}: ${fsReason(code(e))}`, `create it first, or ${todo}`);
  }
  // the store's -wal and -shm files go beside it
  writableFolder(flag, abs, dir, todo);
  return abs;
}

/** An experiment store a command reads (`runs`, `report`): an existing file that opens for
 *  reading. */
export function checkStoreToRead(flag: string, path: string): string {
  return checkReadableFile(flag, path, 'give the path of an experiment store file (gradwire.db)');
}
