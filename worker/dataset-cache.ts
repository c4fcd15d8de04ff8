// The Node worker's dataset store (worker/core/platform.ts DatasetStore): blobs cached on disk
// under their sha256 in the cache directory, fetched from the coordinator with node:http(s) (a
// --tls-ca certificate trusted). The core checks the hash (worker/core/dataset.ts).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { writeAtomic } from '../shared/node/files.js';
import type { DatasetStore } from './core/platform.js';

function fetchBytes(base: string, path: string, headers: Record<string, string>, ca?: Buffer): Promise<Buffer> {
  const url = new URL(path, base);
  const get = url.protocol === 'https:' ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const req = get(url, { headers, ...(ca ? { ca } : {}) }, (res) => {
      // with a Content-Length the body goes straight into one buffer of that size (one copy of
      // the dataset in memory, not the chunks and their concatenation)
      const declared = Number(res.headers['content-length']);
      const whole =
        res.statusCode === 200 && Number.isSafeInteger(declared) && declared > 0 ? Buffer.allocUnsafe(declared) : null;
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
    });
    req.on('error', reject);
    req.setTimeout(120_000, () => req.destroy(new Error(`GET ${url.pathname}: timed out`)));
  });
}

/** Datasets in `cacheDir` (FILE.gwd by sha256), fetched from the coordinator at `base`
 *  (http(s)://host:port). */
export function diskDatasetStore(cacheDir: string, base: string, ca?: Buffer): DatasetStore {
  const pathOf = (sha256: string): string => join(cacheDir, `${sha256}.gwd`);
  return {
    read: async (sha256) => (existsSync(pathOf(sha256)) ? readFileSync(pathOf(sha256)) : null),
    write: async (sha256, bytes) => {
      mkdirSync(cacheDir, { recursive: true });
      writeAtomic(pathOf(sha256), bytes);
    },
    fetch: (path, headers) => fetchBytes(base, path, headers, ca),
  };
}
