// availableCpus(): the CPUs a process may use, from fake /proc and /sys trees in a temp folder
// (cgroup v2 and v1, nested cgroups, missing and garbage files); and the check of a thread
// count given as text (--threads, GRADWIRE_THREADS).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MAX_THREADS,
  availableCpus,
  cgroupCpuLimit,
  parseThreads,
  threadsFromText,
  threadsProblem,
} from '../../shared/node/cpus.js';
import { userError } from '../helpers/errors.js';

const temp = mkdtempSync(join(tmpdir(), 'gradwire-cpus-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

let trees = 0;
/** a fake root holding these files (path → content; a directory where content is null) */
function tree(files: Record<string, string | null>): string {
  const root = join(temp, `t${trees++}`);
  mkdirSync(root);
  for (const [path, text] of Object.entries(files)) {
    const full = join(root, path);
    if (text === null) mkdirSync(full, { recursive: true });
    else {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, text);
    }
  }
  return root;
}

const V2_ROOT = { 'proc/self/cgroup': '0::/\n' };
/** a host with 8 CPUs, so that a quota below 8 shows */
const cpus = (root: string): number => availableCpus({ root, parallelism: 8 });

describe('availableCpus: cgroup v2 (cpu.max)', () => {
  it('"200000 100000" is 2 CPUs; "max 100000" no limit', () => {
    expect(cpus(tree({ ...V2_ROOT, 'sys/fs/cgroup/cpu.max': '200000 100000\n' }))).toBe(2);
    expect(cpus(tree({ ...V2_ROOT, 'sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBe(8);
  });

  it('a fraction rounds up to a whole CPU, and a quota below one CPU is 1', () => {
    const r = tree({ ...V2_ROOT, 'sys/fs/cgroup/cpu.max': '150000 100000\n' });
    expect(cgroupCpuLimit(r)).toBe(1.5);
    expect(cpus(r)).toBe(2);
    expect(cpus(tree({ ...V2_ROOT, 'sys/fs/cgroup/cpu.max': '100001 100000' }))).toBe(2);
    expect(cpus(tree({ ...V2_ROOT, 'sys/fs/cgroup/cpu.max': '25000 100000' }))).toBe(1);
  });

  it('never more than availableParallelism: a quota of 16 CPUs on 8 is 8', () => {
    expect(cpus(tree({ ...V2_ROOT, 'sys/fs/cgroup/cpu.max': '1600000 100000' }))).toBe(8);
  });

  it("the process's own cgroup from /proc/self/cgroup, and the smallest limit on the way up to the root", () => {
    const path = 'sys/fs/cgroup/kubepods.slice/pod1/ctr';
    const proc = { 'proc/self/cgroup': '0::/kubepods.slice/pod1/ctr\n' };
    // the container unlimited, its pod limited to 3 CPUs
    const r = tree({
      ...proc,
      [`${path}/cpu.max`]: 'max 100000',
      'sys/fs/cgroup/kubepods.slice/pod1/cpu.max': '300000 100000',
      'sys/fs/cgroup/kubepods.slice/cpu.max': 'max 100000',
    });
    expect(cgroupCpuLimit(r)).toBe(3);
    expect(cpus(r)).toBe(3);
    // the container's own limit below its parent's wins
    expect(
      cpus(
        tree({
          ...proc,
          [`${path}/cpu.max`]: '50000 50000',
          'sys/fs/cgroup/kubepods.slice/pod1/cpu.max': '300000 100000',
        }),
      ),
    ).toBe(1);
    // a limit at another cgroup (a sibling) is not this process's
    expect(
      cpus(tree({ ...proc, [`${path}/cpu.max`]: 'max 100000', 'sys/fs/cgroup/other/cpu.max': '100000 100000' })),
    ).toBe(8);
  });

  it('in a container with its own cgroup namespace: "0::/" and the limit at the root of /sys/fs/cgroup', () => {
    expect(cpus(tree({ ...V2_ROOT, 'sys/fs/cgroup/cpu.max': '400000 100000' }))).toBe(4);
  });
});

describe('availableCpus: cgroup v1 (cpu.cfs_quota_us / cpu.cfs_period_us)', () => {
  const V1_PROC = { 'proc/self/cgroup': '4:cpu,cpuacct:/\n3:memory:/\n0::/\n' };

  it('limited and unlimited (-1), under /sys/fs/cgroup/cpu/ or /sys/fs/cgroup/cpu,cpuacct/', () => {
    for (const mount of ['cpu', 'cpu,cpuacct']) {
      const d = `sys/fs/cgroup/${mount}`;
      expect(
        cpus(tree({ ...V1_PROC, [`${d}/cpu.cfs_quota_us`]: '200000\n', [`${d}/cpu.cfs_period_us`]: '100000\n' })),
        mount,
      ).toBe(2);
      expect(
        cpus(tree({ ...V1_PROC, [`${d}/cpu.cfs_quota_us`]: '-1\n', [`${d}/cpu.cfs_period_us`]: '100000\n' })),
        mount,
      ).toBe(8);
      expect(
        cpus(tree({ ...V1_PROC, [`${d}/cpu.cfs_quota_us`]: '250000', [`${d}/cpu.cfs_period_us`]: '100000' })),
        mount,
      ).toBe(3);
    }
  });

  it("the process's own v1 cgroup (the line naming the cpu controller), its parents too", () => {
    const d = 'sys/fs/cgroup/cpu';
    const proc = { 'proc/self/cgroup': '2:cpuacct:/elsewhere\n1:cpu:/jobs/gw\n0::/\n' };
    const quota = (dir: string, q: string) => ({
      [`${dir}/cpu.cfs_quota_us`]: q,
      [`${dir}/cpu.cfs_period_us`]: '100000',
    });
    expect(cpus(tree({ ...proc, ...quota(d, '-1'), ...quota(`${d}/jobs/gw`, '100000') }))).toBe(1);
    expect(
      cpus(tree({ ...proc, ...quota(d, '-1'), ...quota(`${d}/jobs`, '300000'), ...quota(`${d}/jobs/gw`, '-1') })),
    ).toBe(3);
    // a Docker container without a cgroup namespace: /proc names the host's path, /sys/fs/cgroup/cpu is its own
    const docker = { 'proc/self/cgroup': '4:cpu,cpuacct:/docker/0123abcd\n' };
    expect(cpus(tree({ ...docker, ...quota('sys/fs/cgroup/cpu,cpuacct', '200000') }))).toBe(2);
  });
});

describe('availableCpus falls back to availableParallelism and never throws', () => {
  it('no /proc, no /sys (another OS, a sandbox)', () => {
    expect(cpus(tree({}))).toBe(8);
    expect(cgroupCpuLimit(tree({}))).toBeNull();
    expect(availableCpus({ root: join(temp, 'does-not-exist') })).toBe(availableParallelism());
  });

  it('/proc/self/cgroup missing: the root cgroup files still count', () => {
    expect(cpus(tree({ 'sys/fs/cgroup/cpu.max': '300000 100000' }))).toBe(3);
  });

  it('garbage content counts as no limit', () => {
    // v2 wants "QUOTA PERIOD"; v1 one whole number per file, so only '100000' is no garbage there
    const garbage = [
      '',
      '\n',
      'max',
      '100000',
      'abc 100000',
      '200000 0',
      '0 100000',
      '-5 100000',
      '2e5 1e5',
      '200000 100000 7',
      '200000.5 100000',
      '\u0000\u0001',
      'max max',
      '-1',
      '1.5',
      '0',
    ];
    for (const g of garbage) {
      expect(cpus(tree({ ...V2_ROOT, 'sys/fs/cgroup/cpu.max': g })), JSON.stringify(g)).toBe(8);
      if (g === '100000') continue;
      const d = 'sys/fs/cgroup/cpu';
      expect(
        cpus(tree({ [`${d}/cpu.cfs_quota_us`]: g, [`${d}/cpu.cfs_period_us`]: '100000' })),
        JSON.stringify(g),
      ).toBe(8);
      expect(
        cpus(tree({ [`${d}/cpu.cfs_quota_us`]: '200000', [`${d}/cpu.cfs_period_us`]: g })),
        JSON.stringify(g),
      ).toBe(8);
    }
  });

  it('garbage /proc/self/cgroup, directories where files belong, paths that climb out', () => {
    for (const proc of [
      'garbage',
      '0::',
      '0::../../..',
      '0::/a/../../../etc\n1:cpu:/../..',
      ':::\n\n',
      '0::/x (deleted)',
    ]) {
      expect(cpus(tree({ 'proc/self/cgroup': proc, 'sys/fs/cgroup/cpu.max': '200000 100000' })), proc).toBe(2);
    }
    expect(cpus(tree({ 'sys/fs/cgroup/cpu.max': null, 'proc/self/cgroup': null }))).toBe(8);
    expect(cpus(tree({ 'proc/self/cgroup': `0::/${'a/'.repeat(500)}` }))).toBe(8);
  });

  it('at least 1 CPU, whatever availableParallelism said', () => {
    expect(availableCpus({ root: tree({}), parallelism: 0 })).toBe(1);
    expect(availableCpus({ root: tree({}), parallelism: Number.NaN })).toBe(1);
  });

  it('the real machine: between 1 and availableParallelism', () => {
    const n = availableCpus();
    expect(Number.isInteger(n)).toBe(true);
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(availableParallelism());
  });
});

describe('a thread count as text: auto or a whole number from 1 to MAX_THREADS', () => {
  it('auto, not given, or a number', () => {
    expect(parseThreads('--threads', 'auto')).toBe('auto');
    expect(parseThreads('--threads', undefined)).toBe('auto');
    expect(parseThreads('GRADWIRE_THREADS', '4')).toBe(4);
    expect(parseThreads('GRADWIRE_THREADS', ' 2\n')).toBe(2);
    expect(parseThreads('--threads', String(MAX_THREADS))).toBe(MAX_THREADS);
    expect(threadsFromText('--threads', '3')).toBe(3);
    expect(
      threadsFromText('--threads', 'auto', {
        root: tree({ ...V2_ROOT, 'sys/fs/cgroup/cpu.max': '100000 100000' }),
        parallelism: 8,
      }),
    ).toBe(1);
    expect(threadsFromText('--threads', undefined, { root: tree({}), parallelism: 6 })).toBe(6);
  });

  it('anything else is a usage error naming the flag or variable, the value and what is allowed', () => {
    for (const raw of [
      '0',
      '-1',
      '1.5',
      '2.0',
      '1e1',
      '0x10',
      'AUTO',
      'all',
      '',
      ' ',
      String(MAX_THREADS + 1),
      '99999999999999999999',
    ]) {
      for (const flag of ['--threads', 'GRADWIRE_THREADS']) {
        const e = userError(() => parseThreads(flag, raw));
        expect(e.code).toBe('USAGE');
        expect(e.message).toBe(threadsProblem(flag, raw));
        expect(e.message).toBe(
          `${flag}: "${raw}" must be auto (the CPUs this process may use) or a whole number from 1 to ${MAX_THREADS}`,
        );
      }
    }
  });
});
