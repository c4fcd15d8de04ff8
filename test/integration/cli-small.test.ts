// Small things of the command line a new user meets: a negative number where a count is wanted
// is refused by that flag's own rule, `gradwire --version`, and a sweep config's mistake said
// before any coordinator listens. Each case runs the real CLI.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ROOT, gradwire, tempDir, withFiles } from '../helpers/cli.js';
import { irisSweep } from '../helpers/fixtures.js';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('gradwire --version', () => {
  it('prints the package version, from the compiled build the tests run', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await gradwire([flag]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`gradwire ${VERSION}\n`);
      expect(r.stderr).toBe('');
    }
  });

  it('and from the sources (bin/gradwire.js of the clone)', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/gradwire.js'), '--version'], {
      cwd: tempDir(),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`gradwire ${VERSION}\n`);
  });

  it('the main help mentions it', async () => {
    expect((await gradwire(['--help'])).stdout).toMatch(/gradwire --version/);
  });
});

describe('a negative number for a count is that flag\'s mistake, not "ambiguous"', () => {
  it.each([
    [['train', '--workers', '-1'], '--workers: "-1" must be a whole number >= 1'],
    [['sweep', '--preset', 'lecture', '--workers', '-2'], '--workers: "-2" must be a whole number >= 1'],
    [['coordinator', '--min-workers', '-1'], '--min-workers: "-1" must be a whole number >= 1'],
  ])('%j', async (args, message) => {
    const r = await gradwire(args, { cwd: tempDir() });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe(`gradwire: error: ${message}\n`);
  });

  it('a value starting with a dash that is not a number is still one line', async () => {
    const r = await gradwire(['train', '--out', '-x'], { cwd: tempDir() });
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^gradwire: error: .*--out.*see --help\n$/);
  });
});

describe('a sweep config mistake is reported before any coordinator listens', () => {
  const dir = withFiles({
    'bad.yaml': irisSweep({ trials: 2, epochs: 1, method: 'nonsense' }),
    'broken.yaml': 'method: [unclosed\n',
  });
  const cases: Array<[string, string[]]> = [
    ['sweep --config bad.yaml', ['sweep', '--config', join(dir, 'bad.yaml'), '--threads', '1']],
    ['sweep --config broken.yaml', ['sweep', '--config', join(dir, 'broken.yaml'), '--threads', '1']],
    ['coordinator --sweep bad.yaml', ['coordinator', '--sweep', join(dir, 'bad.yaml'), '--listen', '127.0.0.1:0']],
    [
      'coordinator --sweep broken.yaml',
      ['coordinator', '--sweep', join(dir, 'broken.yaml'), '--listen', '127.0.0.1:0'],
    ],
  ];
  it.each(cases)('%s', async (_name, args) => {
    const cwd = tempDir();
    const out = join(cwd, 'out');
    const r = await gradwire([...args, '--out', out, '--log-format', 'json'], { cwd, timeoutMs: 30_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^gradwire: error: .*(method|bad\.yaml|broken\.yaml)/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/listening/);
    expect(spawnSync('ls', ['-A', cwd], { encoding: 'utf8' }).stdout).toBe('');
  });
});

describe("the experiment store records each run's folder (for gradwire runs)", () => {
  it('train --in-process and --workers 1: runs.out_dir is the --out folder', async () => {
    const dir = withFiles({ 'run.yaml': 'data: { name: iris }\nmodel: { hidden: [4] }\nepochs: 1\n' });
    const store = join(dir, 'store.db');
    for (const [name, mode] of [
      ['a', ['--in-process']],
      ['b', ['--workers', '1']],
    ] as const) {
      const r = await gradwire(
        ['train', ...mode, '--config', join(dir, 'run.yaml'), '--out', join(dir, name), '--store', store],
        { cwd: dir, timeoutMs: 60_000 },
      );
      expect(r.status, r.stderr).toBe(0);
    }
    const db = new Database(store, { readonly: true });
    try {
      expect(db.prepare('SELECT out_dir FROM runs ORDER BY created_at, rowid').pluck().all()).toEqual([
        join(dir, 'a'),
        join(dir, 'b'),
      ]);
    } finally {
      db.close();
    }
  });
});
