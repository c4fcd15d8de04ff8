// sha256 (64 hex digits) of bytes or of a file's contents: the content hashes of datasets,
// checkpoints, weights and the kernels.wasm build.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function sha256File(path: string | URL): string {
  return sha256Hex(readFileSync(path));
}
