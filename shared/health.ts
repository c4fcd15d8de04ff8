// Liveness for containers: each long-running gradwire process (coordinator, worker, train,
// sweep) rewrites a small status file every few seconds when GRADWIRE_STATUS_FILE names one;
// `gradwire health` reads it. A coordinator's status names its /healthz URL, which the check
// asks too (the server answers, not just the process). Docker's HEALTHCHECK and a Kubernetes
// exec probe run `gradwire health`; an HTTP probe asks the coordinator's /healthz directly.
// Readiness (`gradwire health --ready`, a Kubernetes readiness probe): a worker is ready when
// it is connected to a coordinator and holds its job (the dataset loaded, the model built).
//
// This file is the part both sides share and holds no I/O: the status's shape, the timer that
// keeps it current (the caller gives the function that writes the file: the coordinator's and
// the worker's own atomic write), and the verdict on a status file's text. Reading the file and
// asking the URL is the health command's (coordinator/cli/check-health.ts).
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

/** Replace the file at `path` with `text` at once (write a temporary file, rename it). */
export type WriteStatus = (path: string, text: string) => void;
const WRITE_EVERY_MS = 5_000;

/** Keeps the status file current while the process runs (a stuck event loop stops it). */
export class StatusFile {
  private timer: NodeJS.Timeout | null = null;
  private healthUrl: string | undefined;

  constructor(
    private readonly path: string | null,
    private readonly write: WriteStatus,
    private readonly role: Role,
    private readonly state: () => string,
    private readonly detail: () => StatusDetail = () => ({}),
  ) {
    if (!path) return;
    this.update();
    this.timer = setInterval(() => this.update(), WRITE_EVERY_MS);
    this.timer.unref();
  }

  /** Status file from the environment (none when GRADWIRE_STATUS_FILE is unset). */
  static fromEnv(write: WriteStatus, role: Role, state: () => string, detail?: () => StatusDetail): StatusFile {
    return new StatusFile(process.env[STATUS_ENV] || null, write, role, state, detail);
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
      role: this.role,
      pid: process.pid,
      state: this.state(),
      updatedAt: new Date().toISOString(),
      ...(this.healthUrl ? { healthUrl: this.healthUrl } : {}),
      ...this.detail(),
    };
    try {
      this.write(this.path, `${JSON.stringify(status)}\n`);
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

/** The worker states in which it is connected to a coordinator (worker/client.ts) */
const CONNECTED = new Set(['idle', 'working']);

/** What a status file says, given its text (or why it could not be read) and the time now:
 *  a verdict, or the coordinator's health URL still to be asked (`probe`, with the words that
 *  go before the answer). `text.error`: why the file could not be read (e.g. ENOENT). With `ready`, the readiness check: a worker must also be connected
 *  to a coordinator and hold its job. */
export function judgeStatus(
  file: string,
  text: string | { error: string },
  o: { maxAgeMs: number; ready?: boolean; now: number },
): { ok: boolean; message: string } | { probe: string; who: string } {
  const unreadable = (why: string): { ok: boolean; message: string } => ({
    ok: false,
    message: `status file ${file}: ${why} (the process has not started yet, or writes elsewhere)`,
  });
  if (typeof text !== 'string') return unreadable(text.error);
  let status: Status;
  try {
    status = JSON.parse(text) as Status;
  } catch (e) {
    return unreadable((e as Error).message);
  }
  const age = o.now - Date.parse(status.updatedAt);
  if (!(age <= o.maxAgeMs)) {
    return {
      ok: false,
      message: `${status.role} ${status.pid}: status is ${Math.round(age / 1000)} s old (limit ${o.maxAgeMs / 1000} s): the process is stuck or gone`,
    };
  }
  if (status.healthUrl) return { probe: status.healthUrl, who: `${status.role} ${status.pid} ${status.state}` };
  const who = `${status.role} ${status.pid} ${status.state}`;
  if (o.ready && status.role === 'worker') {
    if (!CONNECTED.has(status.state)) return { ok: false, message: `${who}: not connected to a coordinator` };
    if (!status.job) return { ok: false, message: `${who}: connected, holds no job yet` };
    return { ok: true, message: `${who}, job ${status.job}` };
  }
  return { ok: true, message: `${who}, status ${Math.round(age / 1000)} s old` };
}
