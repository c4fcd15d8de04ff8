// Atomic file writes, for the coordinator and the Node worker alike (run outputs, the dataset
// cache, status files): write a temporary file beside the target, then rename it over the
// target, so a reader never sees half a file and a crash never leaves one behind.
import { renameSync, writeFileSync } from 'node:fs';

export function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
