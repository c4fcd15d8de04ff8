// A worker's datasets: fetched once from the coordinator by content hash, verified, and
// cached on disk under that hash.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { decodeDatasetBlob } from '../shared/data/blob.js';
import type { Dataset } from '../shared/data/dataset.js';
import { writeAtomic } from '../shared/node/files.js';
import { sha256Hex } from '../shared/node/hash.js';

export interface DatasetSource {
  /** http(s)://host:port of the coordinator */
  base: string;
  sha256: string;
  url: string;
  session: string;
  ca?: Buffer;
}

function fetchBytes(src: DatasetSource): Promise<Buffer> {
  const url = new URL(src.url, src.base);
  const get = url.protocol === 'https:' ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const req = get(
      url,
      { headers: { 'x-gradwire-session': src.session }, ...(src.ca ? { ca: src.ca } : {}) },
      (res) => {
        // with a Content-Length the body goes straight into one buffer of that size (one copy of
        // the dataset in memory, not the chunks and their concatenation)
        const declared = Number(res.headers['content-length']);
        const whole =
          res.statusCode === 200 && Number.isSafeInteger(declared) && declared > 0
            ? Buffer.allocUnsafe(declared)
            : null;
        let filled = 0;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          if (!whole) chunks.push(c);
          else if (filled + c.length <= whole.length) c.copy(whole, filled);
          filled += c.length;
        });
        res.on('end', () => {
          if (whole && filled !== whole.length) {
            reject(new Error(`GET ${url.pathname}: received ${filled} bytes, Content-Length said ${whole.length}`));
            return;
          }
          const body = whole ?? Buffer.concat(chunks);
          if (res.statusCode !== 200)
            reject(new Error(`GET ${url.pathname}: HTTP ${res.statusCode} ${body.toString('utf8', 0, 200).trim()}`));
          else resolve(body);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(120_000, () => req.destroy(new Error(`GET ${url.pathname}: timed out`)));
  });
}

/** The dataset named by src.sha256: from the cache when it is there and intact, else fetched. */
export async function getDataset(src: DatasetSource, cacheDir: string): Promise<{ data: Dataset; cached: boolean }> {
  const path = join(cacheDir, `${src.sha256}.gwd`);
  if (existsSync(path)) {
    const bytes = readFileSync(path);
    if (sha256Hex(bytes) === src.sha256)
      return { data: decodeDatasetBlob(bytes, src.sha256.slice(0, 12)), cached: true };
  }
  const bytes = await fetchBytes(src);
  const got = sha256Hex(bytes);
  if (got !== src.sha256) throw new Error(`dataset hash mismatch: asked for ${src.sha256}, received ${got}`);
  mkdirSync(cacheDir, { recursive: true });
  writeAtomic(path, bytes);
  return { data: decodeDatasetBlob(bytes, src.sha256.slice(0, 12)), cached: false };
}
