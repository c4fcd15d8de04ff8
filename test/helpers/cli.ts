// Run the real `gradwire` CLI as a child process.
import { spawnSync } from 'node:child_process';
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

export function gradwire(
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string>; input?: string | Uint8Array } = {},
): CliResult {
  const r = spawnSync(process.execPath, [...NODE_ARGS, CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    // spawnSync kills a child whose output passes maxBuffer (1 MB by default)
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, FORCE_COLOR: '0', ...opts.env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
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
