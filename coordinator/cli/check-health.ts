// The I/O of `gradwire health`: read the status file, ask a health URL. The verdict itself is
// shared/health.ts's (pure).
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { STATUS_ENV, judgeStatus } from '../../shared/health.js';

/** GET a health URL: 200 within the timeout is healthy. Self-signed certificates are accepted
 *  (the check asks its own container's server). */
export function probeUrl(url: string, timeoutMs: number): Promise<{ ok: boolean; message: string }> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(url, { timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () =>
        resolve(
          res.statusCode === 200
            ? { ok: true, message: `${url}: ${body.trim().slice(0, 200)}` }
            : { ok: false, message: `${url}: HTTP ${res.statusCode}` },
        ),
      );
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, message: `${url}: no answer within ${timeoutMs} ms` });
    });
    req.on('error', (e) => resolve({ ok: false, message: `${url}: ${e.message}` }));
  });
}

/** The health check: a fresh status file (and, for a coordinator, a 200 from its /healthz).
 *  With `ready`, the readiness check: the same, and a worker must also be connected to a
 *  coordinator and hold its job. */
export async function checkHealth(o: {
  statusFile: string | null;
  url: string | null;
  maxAgeMs: number;
  timeoutMs: number;
  ready?: boolean;
  now?: number;
}): Promise<{ ok: boolean; message: string }> {
  if (o.url) return probeUrl(o.url, o.timeoutMs);
  if (!o.statusFile)
    return {
      ok: false,
      message: `no status file: set ${STATUS_ENV} (or give --status-file FILE or --url URL)`,
    };
  let text: string | { error: string };
  try {
    text = readFileSync(o.statusFile, 'utf8');
  } catch (e) {
    text = { error: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
  }
  const verdict = judgeStatus(o.statusFile, text, {
    maxAgeMs: o.maxAgeMs,
    now: o.now ?? Date.now(),
    ...(o.ready !== undefined ? { ready: o.ready } : {}),
  });
  if (!('probe' in verdict)) return verdict;
  const r = await probeUrl(verdict.probe, o.timeoutMs);
  return { ok: r.ok, message: `${verdict.who}: ${r.message}` };
}
