// Liveness for containers: each long-running gradwire process (coordinator, worker, train,
// sweep) rewrites a small status file every few seconds when GRADWIRE_STATUS_FILE names one;
// `gradwire health` reads it. A coordinator's status names its /healthz URL, which the check
// asks too (the server answers, not just the process). Docker's HEALTHCHECK and a Kubernetes
// exec probe run `gradwire health`; an HTTP probe asks the coordinator's /healthz directly.
// Readiness (`gradwire health --ready`, a Kubernetes readiness probe): a worker is ready when
// it is connected to a coordinator and holds its job (the dataset loaded, the model built).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';

export type Role = 'coordinator' | 'worker';

export interface Status {
  role: Role;
  pid: number;
  /** what the process is doing: waiting, running, done (coordinator); connecting, idle, working (worker) */
  state: string;
  updatedAt: string;
  /** the coordinator's health endpoint, asked by `gradwire health` */
  healthUrl?: string;
  /** a worker's job (the run id) once it holds it: dataset loaded, model built; null when none */
  job?: string | null;
}

/** what a status file says beyond role, state and time */
export interface StatusDetail {
  job?: string | null;
}

export const STATUS_ENV = 'GRADWIRE_STATUS_FILE';
const WRITE_EVERY_MS = 5_000;

/** Keeps the status file current while the process runs (a stuck event loop stops it). */
export class StatusFile {
  private timer: NodeJS.Timeout | null = null;
  private healthUrl: string | undefined;

  constructor(private readonly path: string | null, private readonly role: Role, private readonly state: () => string,
    private readonly detail: () => StatusDetail = () => ({})) {
    if (!path) return;
    this.update();
    this.timer = setInterval(() => this.update(), WRITE_EVERY_MS);
    this.timer.unref();
  }

  /** Status file from the environment (none when GRADWIRE_STATUS_FILE is unset). */
  static fromEnv(role: Role, state: () => string, detail?: () => StatusDetail): StatusFile {
    return new StatusFile(process.env[STATUS_ENV] || null, role, state, detail);
  }

  /** the coordinator's /healthz, once it listens */
  setHealthUrl(url: string): void {
    this.healthUrl = url;
    this.update();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** rewrite now (the state changed) */
  update(): void {
    if (!this.path) return;
    const status: Status = {
      role: this.role, pid: process.pid, state: this.state(), updatedAt: new Date().toISOString(),
      ...(this.healthUrl ? { healthUrl: this.healthUrl } : {}),
      ...this.detail(),
    };
    try {
      writeFileSync(`${this.path}.tmp`, `${JSON.stringify(status)}\n`);
      renameSync(`${this.path}.tmp`, this.path);
    } catch {
      // a status file that cannot be written makes the health check fail, which says enough
    }
  }
}

/** The URL at which a process on this machine reaches a server listening on host:port. */
export function localUrl(scheme: 'http' | 'https', host: string, port: number, path: string): string {
  const h = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${h}:${port}${path}`;
}

/** GET a health URL: 200 within the timeout is healthy. Self-signed certificates are accepted
 *  (the check asks its own container's server). */
export function probeUrl(url: string, timeoutMs: number): Promise<{ ok: boolean; message: string }> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(url, { timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve(res.statusCode === 200
        ? { ok: true, message: `${url}: ${body.trim().slice(0, 200)}` }
        : { ok: false, message: `${url}: HTTP ${res.statusCode}` }));
    });
    req.on('timeout', () => { req.destroy(); resolve({ ok: false, message: `${url}: no answer within ${timeoutMs} ms` }); });
    req.on('error', (e) => resolve({ ok: false, message: `${url}: ${e.message}` }));
  });
}

/** The worker states in which it is connected to a coordinator (worker/client.ts) */
const CONNECTED = new Set(['idle', 'working']);

/** The health check: a fresh status file (and, for a coordinator, a 200 from its /healthz).
 *  With `ready`, the readiness check: the same, and a worker must also be connected to a
 *  coordinator and hold its job. */
export async function checkHealth(o: { statusFile: string | null; url: string | null; maxAgeMs: number; timeoutMs: number; ready?: boolean; now?: number }): Promise<{ ok: boolean; message: string }> {
  if (o.url) return probeUrl(o.url, o.timeoutMs);
  if (!o.statusFile) return { ok: false, message: `no status file: set ${STATUS_ENV} (or give --status-file FILE or --url URL)` };
  let status: Status;
  try {
    status = JSON.parse(readFileSync(o.statusFile, 'utf8')) as Status;
  } catch (e) {
    return { ok: false, message: `status file ${o.statusFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (the process has not started yet, or writes elsewhere)` };
  }
  const age = (o.now ?? Date.now()) - Date.parse(status.updatedAt);
  if (!(age <= o.maxAgeMs)) {
    return { ok: false, message: `${status.role} ${status.pid}: status is ${Math.round(age / 1000)} s old (limit ${o.maxAgeMs / 1000} s): the process is stuck or gone` };
  }
  if (status.healthUrl) {
    const r = await probeUrl(status.healthUrl, o.timeoutMs);
    return { ok: r.ok, message: `${status.role} ${status.pid} ${status.state}: ${r.message}` };
  }
  const who = `${status.role} ${status.pid} ${status.state}`;
  if (o.ready && status.role === 'worker') {
    if (!CONNECTED.has(status.state)) return { ok: false, message: `${who}: not connected to a coordinator` };
    if (!status.job) return { ok: false, message: `${who}: connected, holds no job yet` };
    return { ok: true, message: `${who}, job ${status.job}` };
  }
  return { ok: true, message: `${who}, status ${Math.round(age / 1000)} s old` };
}
