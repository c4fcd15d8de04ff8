// The worker's atomic file write (dataset cache, status file): write a temporary file beside
// the target, then rename it over the target, so a reader never sees half a file. The
// coordinator has its own (coordinator/store/outputs.ts): the two sides never import each other.
import { renameSync, writeFileSync } from 'node:fs';

export function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
