// The data files a run config names (data.images and data.labels of `idx`, data.path of `csv`):
// a file-system problem with one — missing, a folder, a path through a file, no permission — is
// one sentence naming the key and the absolute path, exit 2, no stack trace, for the real CLI
// (`train --in-process`): "KEY: file not found: PATH" when nothing is there, else what is wrong
// and what to do. A good pair of IDX files (written here byte by
// byte as the format says) trains; the built-in dataset is named for what it is, a 10,000-digit
// subset of MNIST, in the log and in summary.json.
//
// "No permission": these tests run as root, for whom file modes do not bind, so that case runs
// the CLI as the user nobody (setpriv) on a root-owned 0600 file; it is skipped when the suite is
// not root or setpriv is missing.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CLI, NODE_ARGS, run, tempDir } from '../helpers/cli.js';

/** an IDX file of unsigned bytes: 0 0 8 ndims, the sizes as big-endian uint32, the data */
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(head.buffer);
  head.set([0, 0, 8, dims.length]);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  return Buffer.concat([head, data]);
}

const W = tempDir('gradwire-data-');
chmodSync(W, 0o755);
const at = (p: string): string => join(W, p);
// 40 images of 4×4 pixels, labels 0..3
const N = 40;
writeFileSync(
  at('images.gz'),
  gzipSync(
    idx(
      [N, 4, 4],
      Uint8Array.from({ length: N * 16 }, (_, i) => (i * 37) % 256),
    ),
  ),
);
writeFileSync(
  at('labels'),
  idx(
    [N],
    Uint8Array.from({ length: N }, (_, i) => i % 4),
  ),
);
writeFileSync(at('file'), 'a plain file\n');
mkdirSync(at('folder'));
writeFileSync(at('secret'), idx([N], new Uint8Array(N)));
chmodSync(at('secret'), 0o600);

const canBeNobody = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');

let configs = 0;
/** a run config in W (the folder relative data paths are read from) */
function config(data: string): string {
  const file = at(`run-${++configs}.yaml`);
  writeFileSync(file, `data: ${data}\nmodel: { hidden: [4] }\nbatchSize: 8\nepochs: 1\n`);
  chmodSync(file, 0o644);
  return file;
}

/** `gradwire train --in-process --config FILE` in a fresh folder (as nobody with `nobody`) */
async function train(
  cfg: string,
  o: { nobody?: boolean } = {},
): Promise<{ status: number | null; stdout: string; stderr: string; out: string }> {
  const cwd = tempDir('gradwire-data-cwd-');
  chmodSync(cwd, 0o777);
  const out = join(cwd, 'out');
  const node = [process.execPath, ...NODE_ARGS, CLI, 'train', '--in-process', '--config', cfg, '--out', out];
  const [cmd, ...argv] = o.nobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...node] : node;
  const r = await run(cmd!, argv, { cwd, timeoutMs: 60_000, env: { ...process.env, FORCE_COLOR: '0', HOME: cwd } });
  return { ...r, out };
}

const CASES: { name: string; data: string; key: string; path: string; why: RegExp; nobody?: boolean }[] = [
  {
    name: 'images missing',
    data: '{ name: idx, images: none.gz, labels: labels }',
    key: 'data.images',
    path: at('none.gz'),
    why: /file not found/,
  },
  {
    name: 'images a folder',
    data: '{ name: idx, images: folder, labels: labels }',
    key: 'data.images',
    path: at('folder'),
    why: /it is a folder, not a file/,
  },
  {
    name: 'labels through a file',
    data: '{ name: idx, images: images.gz, labels: file/labels }',
    key: 'data.labels',
    path: at('file/labels'),
    why: /a part of the path is a file, not a folder/,
  },
  {
    name: 'labels not readable (as nobody)',
    data: '{ name: idx, images: images.gz, labels: secret }',
    key: 'data.labels',
    path: at('secret'),
    why: /permission denied/,
    nobody: true,
  },
  {
    name: 'csv missing',
    data: '{ name: csv, path: none.csv, labelColumn: y }',
    key: 'data.path',
    path: at('none.csv'),
    why: /file not found/,
  },
];

describe('a file-system problem with a data file: one sentence, exit 2', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    if (c.nobody && !canBeNobody) return; // see the header: only root can run a command as nobody
    const r = await train(config(c.data), { nobody: c.nobody ?? false });
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^gradwire: error: /);
    expect(lines[0]).toMatch(c.why);
    if (c.why.source === 'file not found') {
      // the sentence test/unit/data-idx.test.ts fixes: the key, what is wrong, the absolute path
      expect(lines[0]).toBe(`gradwire: error: ${c.key}: file not found: ${c.path}`);
    } else {
      expect(lines[0]).toContain(`${c.key} ${c.path}: `);
      // and what to do, naming the folder relative paths are read from
      expect(lines[0]).toContain(`; give the path of `);
      expect(lines[0]).toContain(`relative to the config file's folder (${W})`);
    }
    expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  });

  it.skipIf(!canBeNobody)('the "as nobody" case can run here (root with setpriv)', async () => {
    const r = await train(config('{ name: idx, images: images.gz, labels: labels }'), { nobody: true });
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('the datasets a run names', () => {
  it('a pair of IDX files (images gzipped, labels raw) trains, with the split of its 40 samples', async () => {
    const r = await train(config('{ name: idx, images: images.gz, labels: labels }'));
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(r.out, 'summary.json'), 'utf8')) as {
      dataset: { samples: number; train: number; val: number; test: number };
      model: string;
    };
    expect(summary.dataset).toMatchObject({ samples: N, train: 32, val: 4, test: 4 });
    expect(summary.model).toBe('16-4-4');
  });

  it('the built-in dataset is "MNIST, 10,000-digit subset" in the log and summary.json', async () => {
    const r = await train(config('{ name: mnist }'));
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(r.out, 'summary.json'), 'utf8')) as {
      dataset: { name: string; samples: number; train: number; val: number; test: number };
    };
    expect(summary.dataset).toMatchObject({
      name: 'MNIST, 10,000-digit subset',
      samples: 10000,
      train: 8000,
      val: 1000,
      test: 1000,
    });
    expect(r.stdout + r.stderr).toContain('on MNIST, 10,000-digit subset (8000 train / 1000 val / 1000 test)');
  });
});
