// How many compute threads a process should run: the CPUs it may use (the smaller of
// os.availableParallelism() and its cgroup's CPU quota, v1 or v2, rounded up), and the one
// check of a thread count given as text (--threads, GRADWIRE_THREADS: "auto" or a number).
// os.availableParallelism() alone reports the host's CPUs inside a container with a CPU limit.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';

export interface CpuOptions {
  /** the file system root under which /proc and /sys are read (tests build fake trees); default '/' */
  root?: string;
  /** what os.availableParallelism() says (tests); default: ask it */
  parallelism?: number;
}

/** the most threads a count may ask for: more is a typo, not a machine */
export const MAX_THREADS = 1024;

/**
 * The number of CPUs this process may use: the minimum of os.availableParallelism() (the CPUs
 * of its affinity mask) and its cgroup's CPU quota rounded up to a whole CPU (1.5 CPUs → 2),
 * at least 1. Without a readable quota, os.availableParallelism(). Never throws.
 */
export function availableCpus(opts: CpuOptions = {}): number {
  const parallelism = opts.parallelism ?? availableParallelism();
  const quota = cgroupCpuLimit(opts.root);
  const n = quota === null ? parallelism : Math.min(parallelism, Math.ceil(quota));
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}

/**
 * The CPU quota of this process's cgroup in CPUs (quota / period, e.g. 1.5), the smallest one
 * on the way from its own cgroup up to the root, cgroup v2 (`cpu.max`) and v1
 * (`cpu.cfs_quota_us` / `cpu.cfs_period_us`) alike; null when there is none or none is
 * readable. Missing files and unreadable or garbage content count as no limit.
 */
export function cgroupCpuLimit(root = '/'): number | null {
  const sys = join(root, 'sys/fs/cgroup');
  let v2 = '/';
  let v1 = '/';
  // "0::/path" is the v2 hierarchy; "N:cpu,cpuacct:/path" the v1 one holding the cpu controller
  for (const line of (readText(join(root, 'proc/self/cgroup')) ?? '').split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') v2 = m[3]!;
    else if (m[2]!.split(',').includes('cpu')) v1 = m[3]!;
  }
  const limits: number[] = [];
  for (const dir of ancestors(v2)) pushLimit(limits, v2Limit(readText(join(sys, dir, 'cpu.max'))));
  // the v1 cpu controller is mounted alone or together with cpuacct, by either name
  for (const mount of ['cpu', 'cpu,cpuacct', 'cpuacct,cpu']) {
    for (const dir of ancestors(v1)) {
      const d = join(sys, mount, dir);
      pushLimit(limits, v1Limit(readText(join(d, 'cpu.cfs_quota_us')), readText(join(d, 'cpu.cfs_period_us'))));
    }
  }
  return limits.length > 0 ? Math.min(...limits) : null;
}

/** A thread count as text is "auto" or a whole number from 1 to MAX_THREADS: the error otherwise. */
export function threadsProblem(flag: string, raw: string | undefined): string {
  return `${flag}: "${raw}" must be auto (the CPUs this process may use) or a whole number from 1 to ${MAX_THREADS}`;
}

/**
 * A thread count given as text: "auto" (or not given: `raw` undefined) or a whole number from
 * 1 to MAX_THREADS. `flag` names where it came from (--threads, GRADWIRE_THREADS) in the
 * UserError('USAGE') that anything else gets.
 */
export function parseThreads(flag: string, raw: string | undefined): number | 'auto' {
  if (raw === undefined) return 'auto';
  const text = raw.trim();
  if (text === 'auto') return 'auto';
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= MAX_THREADS)) throw new UserError('USAGE', threadsProblem(flag, raw));
  return n;
}

/** The number of threads `raw` asks for ("auto" and not given: availableCpus()). */
export function threadsFromText(flag: string, raw: string | undefined, opts: CpuOptions = {}): number {
  const t = parseThreads(flag, raw);
  return t === 'auto' ? availableCpus(opts) : t;
}

// ---- reading the cgroup files ----

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** "/a/b" → ["/a/b", "/a", "/"]: a cgroup and its parents (at most 64 levels; ".." ignored) */
function ancestors(path: string): string[] {
  const parts = path
    .replace(/ \(deleted\)$/, '')
    .split('/')
    .filter((p) => p !== '' && p !== '.' && p !== '..')
    .slice(0, 64);
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i--) out.push(`/${parts.slice(0, i).join('/')}`);
  return out;
}

function pushLimit(limits: number[], cpus: number | null): void {
  if (cpus !== null && Number.isFinite(cpus) && cpus > 0) limits.push(cpus);
}

const WHOLE = /^[0-9]{1,15}$/;

/** cgroup v2 cpu.max: "max PERIOD" (no limit) or "QUOTA PERIOD" in microseconds */
function v2Limit(text: string | null): number | null {
  const f = text?.trim().split(/\s+/);
  if (f?.length !== 2 || !WHOLE.test(f[0]!) || !WHOLE.test(f[1]!)) return null;
  const [quota, period] = [Number(f[0]), Number(f[1])];
  return quota > 0 && period > 0 ? quota / period : null;
}

/** cgroup v1: cpu.cfs_quota_us (-1: no limit) over cpu.cfs_period_us, in microseconds */
function v1Limit(quotaText: string | null, periodText: string | null): number | null {
  const [q, p] = [quotaText?.trim() ?? '', periodText?.trim() ?? ''];
  if (!WHOLE.test(q) || !WHOLE.test(p)) return null;
  const [quota, period] = [Number(q), Number(p)];
  return quota > 0 && period > 0 ? quota / period : null;
}
