// Child processes of the real CLI for the benchmark parts: start one (`node --import tsx
// bin/gradwire.js ...`, so its pid is the process that computes), collect its output, read its
// JSON step events, and sample its CPU time and peak resident memory from /proc (Linux).
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin/gradwire.js');

export interface StepEvent {
  step: number;
  ms: number;
  bytes?: number;
  computeMs?: number;
  commMs?: number;
  threads?: number[];
}

export interface Proc {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

export function start(args: string[]): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: Proc = { child, stdout: '', stderr: '', exited: Promise.resolve(null) };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    p.stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    p.stderr += d;
  });
  p.exited = new Promise((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => res(code));
  });
  return p;
}

/** CPU seconds (user + system) pid has used so far, all its threads (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** Resident memory of pid now, MB: total (VmRSS), anonymous (heaps, wasm memories), file-backed
 *  (code) and shared (SharedArrayBuffers are anonymous shared memory); null once it is gone. */
export interface Rss {
  rss: number;
  anon: number;
  file: number;
  shmem: number;
}

export function rssMB(pid: number): Rss | null {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    const f = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(st)?.[1] ?? NaN) / 1024;
    return { rss: f('VmRSS'), anon: f('RssAnon'), file: f('RssFile'), shmem: f('RssShmem') };
  } catch {
    return null;
  }
}

export function peakMB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0; // gone meanwhile
  }
}

export async function waitForPort(p: Proc, timeoutMs = 60_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const m = /"event":"listening"[^\n]*"port":(\d+)/.exec(p.stdout);
    if (m) return Number(m[1]);
    if (p.child.exitCode !== null || Date.now() - t0 > timeoutMs)
      throw new Error(`coordinator: no listening event\n${p.stderr.slice(-2000)}${p.stdout.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function stepEvents(stdout: string): StepEvent[] {
  const events: StepEvent[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.includes('"event":"step"')) continue;
    try {
      events.push(JSON.parse(line) as StepEvent);
    } catch {
      /* a torn line */
    }
  }
  return events;
}
