// Files, for the coordinator and the Node worker alike. Atomic writes (run outputs, the dataset
// cache, status files): write a temporary file beside the target, then rename it over the
// target, so a reader never sees half a file and a crash never leaves one behind. And the
// words for a file-system error that every path problem is told in (a flag's file, a config's
// data file).
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';

export function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    // a disk that filled up halfway leaves no half file behind
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** a file-system error code in words (`fallback`, else the code, for one without words) */
export function fsReason(code: string | undefined, fallback?: string): string {
  switch (code) {
    case 'ENOENT':
      return 'it does not exist';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'EISDIR':
      return 'it is a folder, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ELOOP':
      return 'a loop of symbolic links';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    default:
      return code ?? fallback ?? 'unknown error';
  }
}

/** The bytes of the file a flag names, or a UserError('USAGE') in one sentence: the flag, the
 *  path, what is wrong (missing, a folder, a path through a file, no permission) and `todo`. */
export function readFileNamedBy(flag: string, path: string, todo: string): Buffer {
  const abs = resolve(path);
  try {
    if (statSync(abs).isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    return readFileSync(abs);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UserError('USAGE', `${flag} ${abs}: ${fsReason(err.code, err.message)}; ${todo}`);
  }
}
