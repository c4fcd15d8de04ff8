// availableCpus() under a real cgroup CPU limit: a child cgroup made for the test (cgroup v2's
// cpu.max, or v1's cpu.cfs_quota_us where the cpu controller is still on v1, as on the CI
// machines), a Node process moved into it, and what it reports there against
// os.availableParallelism(). Needs root and a cpu controller it may use; skipped otherwise,
// with the reason. The cgroups are removed afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CGROUP = '/sys/fs/cgroup';

interface Layout {
  version: 1 | 2;
  /** where the test's child cgroups go */
  parent: string;
}

/** the cgroup layout the test can use, or why it cannot */
function cgroupLayout(): Layout | string {
  if (process.platform !== 'linux') return `cgroups are Linux's; this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'making a cgroup needs root';
  const controllers = readOrNull(join(CGROUP, 'cgroup.controllers'));
  if (controllers !== null) {
    // cgroup v2 alone: the cpu controller must be enabled for the root's children
    if (!controllers.split(/\s+/).includes('cpu')) return 'cgroup v2 without the cpu controller';
    const subtree = join(CGROUP, 'cgroup.subtree_control');
    if (!(readOrNull(subtree) ?? '').split(/\s+/).includes('cpu')) {
      try {
        writeFileSync(subtree, '+cpu');
      } catch (e) {
        return `cannot enable the cpu controller in ${subtree} (${(e as NodeJS.ErrnoException).code})`;
      }
    }
    return { version: 2, parent: CGROUP };
  }
  // cgroup v1 (or hybrid: v2 mounted beside, the cpu controller on v1)
  for (const mount of ['cpu', 'cpu,cpuacct']) {
    const dir = join(CGROUP, mount);
    if (existsSync(join(dir, 'cpu.cfs_quota_us'))) return { version: 1, parent: dir };
  }
  return `no cgroup v2 with the cpu controller at ${CGROUP} and no cgroup v1 cpu controller`;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

const layout = cgroupLayout();
const skipReason = typeof layout === 'string' ? layout : null;
if (skipReason) console.warn(`cpus-cgroup.test.ts skipped: ${skipReason}`);

const made: string[] = [];
afterAll(() => {
  // a cgroup is removed with rmdir once its processes are gone (the probes have exited)
  for (const dir of made.reverse()) {
    try {
      rmdirSync(dir);
    } catch (e) {
      console.warn(`cpus-cgroup.test.ts: could not remove ${dir}: ${(e as Error).message}`);
    }
  }
});

/** a new child cgroup limited to quota/period CPUs (quota null: no limit) */
function childCgroup(l: Layout, quota: number | null, period = 100_000): string {
  const dir = join(l.parent, `gradwire-test-${process.pid}-${made.length}`);
  mkdirSync(dir);
  made.push(dir);
  if (l.version === 2) writeFileSync(join(dir, 'cpu.max'), `${quota ?? 'max'} ${period}`);
  else {
    writeFileSync(join(dir, 'cpu.cfs_period_us'), String(period));
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota ?? -1));
  }
  return dir;
}

interface Probe {
  parallelism: number;
  cpus: number;
  limit: number | null;
  cgroup: string;
}

/** what a Node process moved into `dir` reports: the shell moves itself, then execs node */
function probeIn(dir: string): Probe {
  const module = pathToFileURL(join(ROOT, 'shared/node/cpus.ts')).href;
  const code = `import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { availableCpus, cgroupCpuLimit } from ${JSON.stringify(module)};
console.log(JSON.stringify({ parallelism: availableParallelism(), cpus: availableCpus(), limit: cgroupCpuLimit(),
  cgroup: readFileSync('/proc/self/cgroup', 'utf8') }));`;
  const res = spawnSync(
    'sh',
    [
      '-c',
      'echo $$ > "$1" || exit 97; exec "$2" --import tsx --input-type=module -e "$3"',
      'sh',
      join(dir, 'cgroup.procs'),
      process.execPath,
      code,
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  expect(res.status, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as Probe;
}

describe.skipIf(skipReason !== null)('availableCpus in a cgroup with a CPU limit (real cgroups, as root)', () => {
  const l = layout as Layout;
  const name = (dir: string): string => dir.slice(l.parent.length);

  it('a quota of 1 CPU: 1, while os.availableParallelism() counts the host', () => {
    const dir = childCgroup(l, 100_000);
    const p = probeIn(dir);
    // the probe ran in that cgroup
    expect(p.cgroup).toContain(name(dir));
    expect(p.parallelism).toBe(availableParallelism());
    expect(p.limit).toBe(1);
    expect(p.cpus).toBe(1);
    if (p.parallelism < 2) console.warn('cpus-cgroup.test.ts: one CPU here, the limit cannot show');
  });

  it('1.5 CPUs round up to 2 (at most what the host has); no limit: os.availableParallelism()', () => {
    const half = probeIn(childCgroup(l, 150_000));
    expect(half.limit).toBe(1.5);
    expect(half.cpus).toBe(Math.min(2, half.parallelism));
    const free = probeIn(childCgroup(l, null));
    expect(free.cpus).toBeLessThanOrEqual(free.parallelism);
    // no limit in the child; a limit above it (a container's) may still apply
    expect(free.cpus).toBe(free.limit === null ? free.parallelism : Math.min(free.parallelism, Math.ceil(free.limit)));
  });
});
