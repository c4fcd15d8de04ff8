// sha256 (64 hex digits) of bytes: the content hashes of datasets,
// checkpoints, weights and the kernels.wasm build.
import { createHash } from 'node:crypto';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
