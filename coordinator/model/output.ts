// Where `predict` writes: stdout, or an --out file written atomically (a temporary file beside
// it, renamed over it at the end; removed on an error, so no half file is ever left).
import { createWriteStream, mkdirSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';

export interface Output {
  /** text, or bytes that stay the stream's until the promise resolves */
  write(text: string | Uint8Array): Promise<void> | void;
  /** the --out file complete: rename it into place */
  commit(): Promise<void>;
  /** an error: remove the temporary file */
  abort(): Promise<void>;
}

function writerOf(stream: NodeJS.WritableStream): (text: string | Uint8Array) => Promise<void> | void {
  return (text) => {
    // bytes may be a buffer the caller fills again: resolve once the stream has written them
    if (typeof text !== 'string') return new Promise((done, fail) => stream.write(text, (e) => (e ? fail(e) : done())));
    if (!stream.write(text)) return once(stream, 'drain').then(() => undefined);
  };
}

export function stdoutOutput(): Output {
  return { write: writerOf(process.stdout), commit: async () => {}, abort: async () => {} };
}

export function fileOutput(path: string): Output {
  const tmp = `${path}.tmp-${process.pid}`;
  // checkOutFile allowed a folder that can be made
  let failed: Error | null = null;
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    failed = e as Error;
  }
  const stream: WriteStream = createWriteStream(tmp);
  stream.on('error', (e) => {
    failed = e;
  });
  const write = writerOf(stream);
  return {
    write: (text) => {
      if (failed) throw failed;
      return write(text);
    },
    async commit() {
      stream.end();
      await once(stream, 'close');
      if (failed) throw failed;
      renameSync(tmp, path);
    },
    async abort() {
      if (!stream.closed) {
        stream.destroy();
        await once(stream, 'close').catch(() => undefined);
      }
      rmSync(tmp, { force: true });
    },
  };
}
