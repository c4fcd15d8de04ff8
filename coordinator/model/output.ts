// Where `predict` writes, all or nothing: an --out file written atomically (a temporary file
// beside it, renamed over it at the end; removed on an error, so no half file is ever left), or
// stdout through a spool — an unlinked temporary file in os.tmpdir() (TMPDIR) that is copied to
// stdout only once the whole input was read without an error, so a bad row near the end of a
// large input leaves stdout empty instead of holding the rows before it. Both keep memory flat:
// the rows go to disk as they come.
import {
  closeSync,
  createReadStream,
  createWriteStream,
  mkdirSync,
  openSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UserError } from '../../shared/errors.js';
import { fsReason } from '../../shared/node/files.js';

export interface Output {
  /** text, or bytes that stay the stream's until the promise resolves */
  write(text: string | Uint8Array): Promise<void> | void;
  /** the --out file complete: rename it into place */
  commit(): Promise<void>;
  /** an error: remove the temporary file, write nothing (stdout: the spool is copied by commit,
   *  dropped by abort) */
  abort(): Promise<void>;
  /** a signal stops the process: the temporary file removed at once (synchronously) */
  discard(): void;
}

function writerOf(stream: NodeJS.WritableStream): (text: string | Uint8Array) => Promise<void> | void {
  return (text) => {
    // bytes may be a buffer the caller fills again: resolve once the stream has written them
    if (typeof text !== 'string') return new Promise((done, fail) => stream.write(text, (e) => (e ? fail(e) : done())));
    if (!stream.write(text)) return once(stream, 'drain').then(() => undefined);
  };
}

/** writes into a file; the first error is thrown by the next write or by `end` */
function fileWriter(path: string): {
  write: (text: string | Uint8Array) => Promise<void> | void;
  end: () => Promise<void>;
  destroy: () => Promise<void>;
} {
  let failed: Error | null = null;
  const stream = createWriteStream(path);
  stream.on('error', (e) => {
    failed = e;
  });
  const write = writerOf(stream);
  return {
    write: (text) => {
      if (failed) throw failed;
      return write(text);
    },
    async end() {
      stream.end();
      await finished(stream).catch(() => undefined);
      if (failed) throw failed;
    },
    async destroy() {
      stream.destroy();
      await finished(stream).catch(() => undefined);
    },
  };
}

/** stdout, written only when the whole input succeeded (`dir`: where the spool goes) */
export function stdoutOutput(dir = tmpdir(), stdout: NodeJS.WritableStream = process.stdout): Output {
  const path = join(dir, `gradwire-predict-${process.pid}-${Date.now()}.spool`);
  let fd: number;
  try {
    fd = openSync(path, 'wx+', 0o600);
  } catch (e) {
    throw spoolError(dir, e);
  }
  // unlinked at once: the space is freed when the descriptor closes, even after a crash
  rmSync(path, { force: true });
  let closed = false;
  const close = (): void => {
    if (!closed) closeSync(fd);
    closed = true;
  };
  return {
    // a chunk to the page cache: synchronous, no stream between (measured: test/bench/spool.ts);
    // the bytes are copied before it returns, so the caller may fill its buffer again at once
    write: (text) => {
      try {
        const bytes = typeof text === 'string' ? Buffer.from(text) : text;
        for (let o = 0; o < bytes.length; ) o += writeSync(fd, bytes, o, bytes.length - o);
      } catch (e) {
        throw spoolError(dir, e);
      }
    },
    async commit() {
      try {
        // a reader that stops early (`| head`) closes the pipe: the copy stops, quietly
        let broken = false;
        const onError = (): void => {
          broken = true;
        };
        stdout.on('error', onError);
        // until the pipe takes more or breaks, both listeners removed then (a listener left per
        // full pipe added up: a slow reader saw MaxListenersExceededWarning)
        const drained = (): Promise<void> =>
          new Promise((resolve) => {
            const done = (): void => {
              stdout.off('drain', done).off('error', done);
              resolve();
            };
            stdout.once('drain', done).once('error', done);
          });
        try {
          for await (const chunk of createReadStream('', { fd, start: 0, autoClose: false })) {
            if (broken) break;
            if (!stdout.write(chunk)) await drained();
          }
        } finally {
          stdout.off('error', onError);
        }
      } finally {
        close();
      }
    },
    async abort() {
      close();
    },
    discard: close,
  };
}

/** a file-system error of the spool, in one sentence */
function spoolError(dir: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (!code) return e as Error;
  return new UserError(
    'USAGE',
    `cannot write the predictions' temporary copy in ${dir} (${fsReason(code)}) before they go to stdout; set TMPDIR to a folder with room, or give --out FILE`,
  );
}

export function fileOutput(path: string): Output {
  const tmp = `${path}.tmp-${process.pid}`;
  // checkOutFile allowed a folder that can be made; an error removes the folders made here
  let made: Error | null = null;
  let firstMade: string | undefined;
  try {
    firstMade = mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    made = e as Error;
  }
  const discard = (): void => {
    rmSync(tmp, { force: true });
    if (firstMade === undefined) return;
    for (let d = dirname(path); d.length >= firstMade.length; d = dirname(d)) {
      try {
        rmdirSync(d);
      } catch {
        return; // not empty: someone else's files
      }
    }
  };
  const file = fileWriter(tmp);
  return {
    write: (text) => {
      if (made) throw made;
      return file.write(text);
    },
    async commit() {
      await file.end();
      if (made) throw made;
      renameSync(tmp, path);
    },
    async abort() {
      await file.destroy();
      discard();
    },
    discard,
  };
}
