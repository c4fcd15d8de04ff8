// Real coordinator and worker processes on loopback for integration tests: start them, read
// their JSON logs as they come, wait for events, signal them, and clean up.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CLI, NODE_ARGS, ROOT, WORKER, run, tempDir } from './cli.js';

// node itself, one process per role (a wrapper such as the tsx command would put a parent in
// front of it, and signals sent in tests must reach the real process)
const NODE = process.execPath;
export { CLI, WORKER };

export type LogEvent = Record<string, unknown> & { event?: string; msg?: string };

/** A child process whose stdout JSON lines are collected and can be waited for. */
export class Proc {
  readonly events: LogEvent[] = [];
  readonly lines: string[] = [];
  stderr = '';
  exitCode: number | null = null;
  readonly exited: Promise<number | null>;
  private waiters: Array<{ test: (e: LogEvent) => boolean; resolve: (e: LogEvent) => void }> = [];

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.lines.push(line);
        let e: LogEvent;
        try {
          e = JSON.parse(line) as LogEvent;
        } catch {
          continue;
        }
        this.events.push(e);
        this.waiters = this.waiters.filter((w) => {
          if (!w.test(e)) return true;
          w.resolve(e);
          return false;
        });
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      this.stderr += c;
    });
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : null);
        resolve(this.exitCode);
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolve with the first event (past or future) that passes `test`. */
  waitFor(test: (e: LogEvent) => boolean, what: string, timeoutMs = 60_000): Promise<LogEvent> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.name}: timed out waiting for ${what}\nlast log lines:\n${this.lines.slice(-15).join('\n')}\nstderr: ${this.stderr.slice(-2000)}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(
          new Error(
            `${this.name} exited (${code}) before ${what}\nlast log lines:\n${this.lines.slice(-15).join('\n')}\nstderr: ${this.stderr.slice(-2000)}`,
          ),
        );
      });
    });
  }

  waitForEvent(event: string, more: (e: LogEvent) => boolean = () => true, timeoutMs?: number): Promise<LogEvent> {
    return this.waitFor((e) => e.event === event && more(e), `event "${event}"`, timeoutMs);
  }

  /** wait until the coordinator has finished the given step (0-based) */
  waitForStep(step: number, timeoutMs?: number): Promise<LogEvent> {
    return this.waitFor((e) => e.event === 'step' && (e.step as number) >= step, `step ${step}`, timeoutMs);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.exitCode === null) {
      try {
        process.kill(this.pid, signal);
      } catch {
        /* gone already */
      }
    }
  }
}

const procs: Proc[] = [];

/** `env` adds to (or overrides) this process's environment. */
function start(name: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(NODE, [...NODE_ARGS, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0', ...env },
  });
  const p = new Proc(name, child);
  procs.push(p);
  return p;
}

export function startCoordinator(args: string[], env: Record<string, string> = {}): Proc {
  return start('coordinator', [CLI, 'coordinator', '--log-format', 'json', '--log-level', 'debug', ...args], env);
}

export function startWorker(
  port: number,
  name: string,
  extra: string[] = [],
  cacheDir = sharedCache,
  env: Record<string, string> = {},
): Proc {
  return start(
    name,
    [
      WORKER,
      '--connect',
      `ws://127.0.0.1:${port}`,
      '--name',
      name,
      '--log-format',
      'json',
      '--cache-dir',
      cacheDir,
      ...extra,
    ],
    env,
  );
}

/** wait for the coordinator's listening event and return its port */
export async function listeningPort(c: Proc): Promise<number> {
  return (await c.waitForEvent('listening')).port as number;
}

/** Kill every process these helpers started (SIGCONT first, for stopped ones). */
export async function killAll(): Promise<void> {
  for (const p of procs.splice(0)) {
    p.kill('SIGCONT');
    p.kill('SIGKILL');
    await p.exited;
  }
}

/** A port that was free a moment ago (for a coordinator that must come back on the same one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export const sharedCache = tempDir('gradwire-cache-');

export function summary(outDir: string): Record<string, unknown> & { weightsSha256: string } {
  return JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8'));
}

/** summary.json of the config trained in-process (the reference), the child in `env` */
export async function inProcessSummary(
  configFile: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 600_000,
): Promise<Record<string, unknown> & { weightsSha256: string }> {
  const out = tempDir('gradwire-ref-');
  const r = await run(
    NODE,
    [...NODE_ARGS, CLI, 'train', '--in-process', '--config', configFile, '--out', out, '--log-format', 'json'],
    { env, timeoutMs },
  );
  if (r.status !== 0) throw new Error(`in-process reference failed: ${r.stderr}`);
  return summary(out);
}

/** weightsSha256 of the same config trained in-process (the reference). */
export async function inProcessSha(configFile: string): Promise<string> {
  return (await inProcessSummary(configFile)).weightsSha256;
}

/** Run `gradwire train --workers N` to the end and return its summary. */
export async function trainWithWorkers(
  configFile: string,
  workers: number,
): Promise<Record<string, unknown> & { weightsSha256: string }> {
  const out = tempDir('gradwire-dist-');
  const r = await run(
    NODE,
    [
      ...NODE_ARGS,
      CLI,
      'train',
      '--workers',
      String(workers),
      '--config',
      configFile,
      '--out',
      out,
      '--log-format',
      'json',
    ],
    { timeoutMs: 120_000 },
  );
  if (r.status !== 0)
    throw new Error(`train --workers ${workers} failed (${r.status}): ${r.stderr}\n${r.stdout.slice(-3000)}`);
  return summary(out);
}

/** CPU time (user + system, seconds) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
