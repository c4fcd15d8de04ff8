// A job's dataset by content hash: from the platform's store when the bytes there still hash to
// the name, else fetched from the coordinator (with the connection's session ticket, never the
// token), checked against the hash, stored, then decoded as a view of those bytes.
import { decodeDatasetBlob } from '../../shared/data/blob.js';
import type { Dataset } from '../../shared/data/dataset.js';
import type { WorkerPlatform } from './platform.js';

export interface DatasetSource {
  sha256: string;
  /** path of the blob on the coordinator's HTTP server */
  url: string;
  /** the connection's session ticket (welcome.session) */
  session: string;
}

export async function getDataset(
  platform: Pick<WorkerPlatform, 'datasets' | 'sha256Hex'>,
  src: DatasetSource,
): Promise<{ data: Dataset; cached: boolean }> {
  const name = src.sha256.slice(0, 12);
  const stored = await platform.datasets.read(src.sha256);
  if (stored && (await platform.sha256Hex(stored)) === src.sha256)
    return { data: decodeDatasetBlob(stored, name), cached: true };
  const bytes = await platform.datasets.fetch(src.url, { 'x-gradwire-session': src.session });
  const got = await platform.sha256Hex(bytes);
  if (got !== src.sha256) throw new Error(`dataset hash mismatch: asked for ${src.sha256}, received ${got}`);
  await platform.datasets.write(src.sha256, bytes);
  return { data: decodeDatasetBlob(bytes, name), cached: false };
}
