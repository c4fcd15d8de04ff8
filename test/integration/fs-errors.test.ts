// Every file-system problem with a path flag — a file where a folder is wanted, a folder where a
// file is wanted, a path through a file, a missing file or folder, no permission — is one
// sentence naming the flag (or its environment variable) and the path, exit 2, no stack trace,
// and nothing half made: no run or sweep in the store, no out folder, no default store, for every
// command that takes the flag (train in its three modes, coordinator for a run and a sweep,
// sweep, worker, runs, report). Each case runs the real CLI.
//
// "No permission": these tests run as root, for whom file modes do not bind, so those cases run
// the CLI as the user nobody (setpriv) on root-owned files: a 0600 file it cannot read, a 0644
// store it cannot write, a 0755 folder it cannot write in. They are skipped (and say so) when the
// suite is not root or setpriv is missing.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Store } from '../../coordinator/store/store.js';
import { CLI, NODE_ARGS, tempDir } from '../helpers/cli.js';
import { irisSweep } from '../helpers/fixtures.js';

const W = tempDir('gradwire-fs-');
chmodSync(W, 0o755);
const at = (p: string): string => join(W, p);
writeFileSync(at('file'), 'a plain file\n');
mkdirSync(at('folder'));
writeFileSync(at('run.yaml'), 'data: { name: iris }\nmodel: { hidden: [4] }\nepochs: 1\n');
writeFileSync(at('sweep.yaml'), irisSweep({ trials: 2, epochs: 1 }));
writeFileSync(at('token'), `${'0123456789abcdef'.repeat(4)}\n`);
Store.open(at('store.db')).close();
// for the cases run as nobody: a folder it may write in (fresh outs and stores go there), a
// root-owned folder it may not write in, a file it may not read, a store it may not write
mkdirSync(at('open'));
chmodSync(at('open'), 0o777);
mkdirSync(at('locked'));
chmodSync(at('locked'), 0o755);
writeFileSync(at('secret'), 'data: { name: iris }\n');
chmodSync(at('secret'), 0o600);
Store.open(at('root.db')).close();
chmodSync(at('root.db'), 0o644);
for (const f of ['run.yaml', 'sweep.yaml', 'token', 'file', 'store.db']) chmodSync(at(f), 0o644);

const canBeNobody = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');

let fresh = 0;
/** a path nothing exists at, in a folder anyone may write in: it must still not exist after */
const freshPath = (name: string): string => at(`open/${name}-${++fresh}`);

/** every path under `dir`, less the -wal and -shm files SQLite keeps beside the stores this
 *  test reads */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false })
    .map(String)
    .filter((p) => !/\.db-(wal|shm)$/.test(p))
    .sort();
}

/** the real CLI in a fresh, empty working folder (as the user nobody with `nobody`); async, so
 *  that two cases run side by side and the test runner's own messages are not held up */
function run(
  args: string[],
  o: { nobody?: boolean; env?: Record<string, string> },
): Promise<{ status: number | null; stdout: string; stderr: string; cwd: string }> {
  return seat(() => runNow(args, o));
}

// two processes at a time (the machines these run on have 2 cores)
let free = 2;
const waiting: Array<() => void> = [];
async function seat<T>(fn: () => Promise<T>): Promise<T> {
  if (free === 0) await new Promise<void>((r) => waiting.push(r));
  else free--;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else free++;
  }
}

function runNow(
  args: string[],
  o: { nobody?: boolean; env?: Record<string, string> },
): Promise<{ status: number | null; stdout: string; stderr: string; cwd: string }> {
  const cwd = tempDir('gradwire-fs-cwd-');
  chmodSync(cwd, 0o777);
  const node = [process.execPath, ...NODE_ARGS, CLI, ...args];
  const [cmd, ...argv] = o.nobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...node] : node;
  return new Promise((done) => {
    execFile(
      cmd!,
      argv,
      { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, FORCE_COLOR: '0', HOME: cwd, ...o.env } },
      (err, stdout, stderr) => {
        const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        done({ status, stdout, stderr, cwd });
      },
    );
  });
}

interface Case {
  name: string;
  args: string[];
  /** the flag (or environment variable) the sentence names, and the absolute path */
  flag: string;
  path: string;
  why: RegExp;
  nobody?: boolean;
  env?: Record<string, string>;
}

// what each problem says
const MISSING = /it does not exist/;
const A_FOLDER = /it is a folder, not a file/;
const A_FILE = /it is a file, not a folder/;
const THROUGH_FILE = /a part of the path is a file, not a folder/;
const UNDER_FILE = new RegExp(`${at('file')} is a file, so no folder can be made under it`);
const DENIED = /permission denied/;

/** a file the command reads (--config, --token-file, --tls-*, --sweep): the four problems */
function readCases(name: string, flag: string, args: (path: string) => string[]): Case[] {
  return [
    { name: `${name}: ${flag} missing`, args: args(at('none.yaml')), flag, path: at('none.yaml'), why: MISSING },
    { name: `${name}: ${flag} a folder`, args: args(at('folder')), flag, path: at('folder'), why: A_FOLDER },
    {
      name: `${name}: ${flag} under a file`,
      args: args(at('file/x')),
      flag,
      path: at('file/x'),
      why: THROUGH_FILE,
    },
    {
      name: `${name}: ${flag} not readable (as nobody)`,
      args: args(at('secret')),
      flag,
      path: at('secret'),
      why: DENIED,
      nobody: true,
    },
  ];
}

/** an out folder (--out of train, coordinator, sweep): the three problems */
function outCases(name: string, args: (path: string) => string[], flag = '--out'): Case[] {
  return [
    { name: `${name}: ${flag} a file`, args: args(at('file')), flag, path: at('file'), why: A_FILE },
    {
      name: `${name}: ${flag} under a file`,
      args: args(at('file/out')),
      flag,
      path: at('file/out'),
      why: UNDER_FILE,
    },
    {
      name: `${name}: ${flag} in a folder it may not write in (as nobody)`,
      args: args(at('locked/out')),
      flag,
      path: at('locked/out'),
      why: new RegExp(`cannot write in ${at('locked')} \\(permission denied\\)`),
      nobody: true,
    },
  ];
}

/** a store a command writes to (--store of train, coordinator, sweep): the five problems */
function storeCases(name: string, args: (path: string) => string[]): Case[] {
  const flag = '--store';
  return [
    { name: `${name}: --store a folder`, args: args(at('folder')), flag, path: at('folder'), why: A_FOLDER },
    {
      name: `${name}: --store under a file`,
      args: args(at('file/x.db')),
      flag,
      path: at('file/x.db'),
      why: THROUGH_FILE,
    },
    {
      name: `${name}: --store in a missing folder`,
      args: args(at('none/x.db')),
      flag,
      path: at('none/x.db'),
      why: new RegExp(`folder ${at('none')}: it does not exist; create it first`),
    },
    {
      name: `${name}: --store not writable (as nobody)`,
      args: args(at('root.db')),
      flag,
      path: at('root.db'),
      why: DENIED,
      nobody: true,
    },
    {
      name: `${name}: --store in a folder it may not write in (as nobody)`,
      args: args(at('locked/x.db')),
      flag,
      path: at('locked/x.db'),
      why: new RegExp(`cannot write in ${at('locked')} \\(permission denied\\)`),
      nobody: true,
    },
  ];
}

/** `train` in a mode, every flag valid but the one a case changes */
const train =
  (mode: string[]) =>
  (o: { config?: string; out?: string; store?: string }): string[] => [
    'train',
    ...mode,
    '--config',
    o.config ?? at('run.yaml'),
    '--out',
    o.out ?? freshPath('out'),
    '--store',
    o.store ?? freshPath('store.db'),
  ];

const coordinatorRun = (o: Record<string, string>): string[] => [
  'coordinator',
  '--listen',
  '127.0.0.1:0',
  '--config',
  o.config ?? at('run.yaml'),
  ...(o.noOut ? [] : ['--out', o.out ?? freshPath('out')]),
  '--store',
  o.store ?? freshPath('store.db'),
  '--token-file',
  o.token ?? at('token'),
  '--tls-cert',
  o.cert ?? at('file'),
  '--tls-key',
  o.key ?? at('file'),
];

const coordinatorSweep = (o: Record<string, string>): string[] => [
  'coordinator',
  '--listen',
  '127.0.0.1:0',
  '--sweep',
  o.sweep ?? at('sweep.yaml'),
  '--out',
  o.out ?? freshPath('sweep'),
  ...(o.store ? ['--store', o.store] : []),
];

const sweep = (o: Record<string, string>): string[] => [
  'sweep',
  '--config',
  o.config ?? at('sweep.yaml'),
  '--threads',
  '1',
  '--out',
  o.out ?? freshPath('sweep'),
  ...(o.store ? ['--store', o.store] : []),
];

const worker = (o: Record<string, string>): string[] => [
  'worker',
  '--connect',
  'ws://127.0.0.1:9',
  '--token-file',
  o.token ?? at('token'),
  '--tls-ca',
  o.ca ?? at('file'),
];

const CASES: Case[] = [
  // train, reference mode: every problem of every flag
  ...readCases('train --in-process', '--config', (p) => train(['--in-process'])({ config: p })),
  ...outCases('train --in-process', (p) => train(['--in-process'])({ out: p })),
  ...storeCases('train --in-process', (p) => train(['--in-process'])({ store: p })),
  // without --store: the default store beside the out folder is not made either
  {
    name: 'train --in-process: --out a file, default store',
    args: ['train', '--in-process', '--config', at('run.yaml'), '--out', at('file')],
    flag: '--out',
    path: at('file'),
    why: A_FILE,
  },
  // train on threads and on worker processes: the same checks, before anything starts
  ...outCases('train (threads)', (p) => train(['--threads', '1'])({ out: p })).slice(0, 1),
  ...storeCases('train (threads)', (p) => train(['--threads', '1'])({ store: p })).slice(0, 1),
  ...readCases('train (threads)', '--config', (p) => train(['--threads', '1'])({ config: p })).slice(0, 1),
  ...outCases('train --workers 1', (p) => train(['--workers', '1'])({ out: p })).slice(1, 2),
  ...storeCases('train --workers 1', (p) => train(['--workers', '1'])({ store: p })).slice(1, 2),
  ...readCases('train --workers 1', '--config', (p) => train(['--workers', '1'])({ config: p })).slice(1, 2),
  // coordinator serving a run
  ...readCases('coordinator', '--config', (p) => coordinatorRun({ config: p })).slice(0, 2),
  ...outCases('coordinator', (p) => coordinatorRun({ out: p })),
  ...storeCases('coordinator', (p) => coordinatorRun({ store: p })).slice(0, 3),
  ...readCases('coordinator', '--token-file', (p) => coordinatorRun({ token: p })),
  ...readCases('coordinator', '--tls-cert', (p) => coordinatorRun({ cert: p })).slice(0, 2),
  ...readCases('coordinator', '--tls-key', (p) => coordinatorRun({ key: p })).slice(1, 3),
  {
    name: 'coordinator: GRADWIRE_OUT a file',
    args: coordinatorRun({ noOut: '1' }),
    flag: 'GRADWIRE_OUT',
    path: at('file'),
    why: A_FILE,
    env: { GRADWIRE_OUT: at('file') },
  },
  {
    name: 'coordinator: GRADWIRE_TOKEN_FILE a folder',
    args: coordinatorRun({ token: '' }).filter((a, i, all) => a !== '--token-file' && all[i - 1] !== '--token-file'),
    flag: 'GRADWIRE_TOKEN_FILE',
    path: at('folder'),
    why: A_FOLDER,
    env: { GRADWIRE_TOKEN_FILE: at('folder') },
  },
  // coordinator serving a sweep
  ...readCases('coordinator --sweep', '--sweep', (p) => coordinatorSweep({ sweep: p })).slice(0, 2),
  ...outCases('coordinator --sweep', (p) => coordinatorSweep({ out: p })).slice(0, 1),
  ...storeCases('coordinator --sweep', (p) => coordinatorSweep({ store: p })).slice(0, 2),
  // sweep
  ...readCases('sweep', '--config', (p) => sweep({ config: p })).slice(0, 2),
  ...outCases('sweep', (p) => sweep({ out: p })),
  ...storeCases('sweep', (p) => sweep({ store: p })),
  // worker
  ...readCases('worker', '--token-file', (p) => worker({ token: p })),
  ...readCases('worker', '--tls-ca', (p) => worker({ ca: p })),
  // runs and report read a store; report writes a file
  ...readCases('runs', '--store', (p) => ['runs', '--store', p]),
  ...readCases('report', '--store', (p) => ['report', 'run-', '--store', p]),
  {
    name: 'report: --out a folder',
    args: ['report', 'run-', '--store', at('store.db'), '--out', at('folder')],
    flag: '--out',
    path: at('folder'),
    why: A_FOLDER,
  },
  {
    name: 'report: --out under a file',
    args: ['report', 'run-', '--store', at('store.db'), '--out', at('file/r.html')],
    flag: '--out',
    path: at('file/r.html'),
    why: new RegExp(`${at('file')} is a file, so no folder can be made under it`),
  },
];

/** the runs and sweeps a store holds, read with SQLite itself (read-only) */
function rowsIn(path: string): { runs: number; sweeps: number } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const count = (t: string): number => (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    return { runs: count('runs'), sweeps: count('sweeps') };
  } finally {
    db.close();
  }
}

describe('a file-system problem with a path flag: one sentence, exit 2, nothing half made', {
  timeout: 120_000,
}, () => {
  it.concurrent.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    if (c.nobody && !canBeNobody) return; // see the header: only root can run a command as nobody
    const before = listing(W);
    const r = await run(c.args, { nobody: c.nobody ?? false, ...(c.env ? { env: c.env } : {}) });
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^gradwire( worker)?: error: /);
    expect(lines[0]).toContain(`${c.flag} ${c.path}: `);
    expect(lines[0]).toMatch(c.why);
    expect(lines[0]).toMatch(/; [a-z]/); // and what to do
    expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
    // nothing made: no out folder, store or run anywhere, nor in the working folder
    expect(listing(W)).toEqual(before);
    expect(readdirSync(r.cwd)).toEqual([]);
    expect(rowsIn(at('store.db'))).toEqual({ runs: 0, sweeps: 0 });
    expect(rowsIn(at('root.db'))).toEqual({ runs: 0, sweeps: 0 });
  });

  it.skipIf(!canBeNobody)('the "as nobody" cases can run here (root with setpriv)', async () => {
    const r = await run(['--version'], { nobody: true });
    expect(r.status, r.stderr).toBe(0);
  });
});
