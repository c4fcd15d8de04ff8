// Run the real `gradwire` CLI as a child process.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

/** The processes tests start run gradwire compiled into .test-dist/ (test/global-setup.ts
 *  builds it: bin/gradwire.js beside dist/, as in the container image), or the TypeScript
 *  sources through tsx with GRADWIRE_TEST_SOURCES=1. */
const BUILD = join(ROOT, '.test-dist');
export const COMPILED = process.env.GRADWIRE_TEST_SOURCES !== '1' && existsSync(join(BUILD, 'built'));
/** Node flags before CLI or WORKER: tsx's loader when running the sources */
export const NODE_ARGS: readonly string[] = COMPILED ? [] : ['--import', 'tsx'];
/** the `gradwire` command */
export const CLI = COMPILED ? join(BUILD, 'bin/gradwire.js') : join(ROOT, 'bin/gradwire.js');
/** the worker process's entry (what a coordinator's local workers run) */
export const WORKER = COMPILED ? join(BUILD, 'dist/worker/main.js') : join(ROOT, 'worker/main.ts');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to its end and collect its output. Asynchronous, so that the test process's
 *  event loop keeps running meanwhile: vitest's forks answer their runner's RPC (a fixed 60 s
 *  timeout) while a long run goes on, which lets the suites run two files at a time. As
 *  spawnSync: after timeoutMs the child is killed and its status is null. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string | Uint8Array } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolvePromise({
        status,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (opts.input !== undefined && child.stdin) {
      // a child that exits without reading its input closes the pipe: not the test's error
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

/** Run the `gradwire` CLI to its end (see run). */
export function gradwire(
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string>; input?: string | Uint8Array } = {},
): Promise<CliResult> {
  return run(process.execPath, [...NODE_ARGS, CLI, ...args], {
    ...opts,
    env: { ...process.env, FORCE_COLOR: '0', ...opts.env },
  });
}

export function tempDir(prefix = 'gradwire-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Write files into a fresh temporary folder and return it. */
export function withFiles(files: Record<string, string | Uint8Array>): string {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}
