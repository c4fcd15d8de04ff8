// Run the real `gradwire` CLI as a child process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

const CLI = join(ROOT, 'bin/gradwire.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function gradwire(
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): CliResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
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
