// The experiment store as a user meets it: `gradwire train` (in-process and on workers) and
// `gradwire sweep` record into it; `gradwire runs` lists it; `gradwire report ID` writes one
// self-contained HTML file whose numbers agree with the run's own outputs (summary.json,
// epochs.csv, config.json, trials.csv, the sweep's report.html).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { findExperiment } from '../../coordinator/report/experiments.js';
import { renderFound } from '../../coordinator/report/report.js';
import { Store } from '../../coordinator/store/store.js';
import { recordRun } from '../../coordinator/run/record.js';
import type { RunSummary } from '../../coordinator/run/run-loop.js';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import { CLI, NODE_ARGS, ROOT, tempDir, type CliResult, run as runChild, withFiles } from '../helpers/cli.js';
import { Proc } from '../helpers/cluster.js';
import { irisSweep } from '../helpers/fixtures.js';

const SMALL = `
seed: 5
data: { name: iris }
model: { hidden: [16], activation: tanh }
optimizer: { name: adam, lr: 0.01 }
batchSize: 16
microbatch: 8
epochs: 12
`;

const SWEEP = irisSweep({ trials: 4, epochs: 6, init: false });

// no store from the environment: each test says where its store is
const ENV = { GRADWIRE_STORE: '' };
const dir = withFiles({ 'small.yaml': SMALL, 'sweep.yaml': SWEEP });
/** the CLI run in `cwd` (which may be outside the repository: tsx is imported by its URL) */
function cli(args: string[], cwd: string, env: Record<string, string>, timeoutMs = 120_000): Promise<CliResult> {
  return runChild(process.execPath, ['--import', TSX, join(ROOT, 'bin/gradwire.js'), ...args], {
    cwd,
    timeoutMs,
    env: { ...process.env, FORCE_COLOR: '0', ...env },
  });
}
const TSX = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx')).href;
const run = (args: string[], cwd = dir, timeoutMs = 120_000): Promise<CliResult> => cli(args, cwd, ENV, timeoutMs);

interface Item {
  id: string;
  kind: string;
  status: string;
  store: string;
  epochs: number;
  valAccuracy: number | null;
  testAccuracy: number | null;
  mode: string | null;
  workers: number | null;
  sweepId: string | null;
  trial: number | null;
  trials: number | null;
  trialsPlanned: number | null;
  best: { index: number; valAccuracy: number; testAccuracy: number | null } | null;
}

async function listJson(args: string[] = [], cwd = dir): Promise<Item[]> {
  const r = await run(['runs', '--json', ...args], cwd);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Item[];
}

// biome-ignore lint/suspicious/noExplicitAny: the tests read arbitrary JSON outputs
const json = (path: string): any => JSON.parse(readFileSync(path, 'utf8'));
function csv(path: string): Array<Record<string, string>> {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((c, i) => [cols[i]!, c])));
}

/** the HTML of `<section id="id">` */
function section(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}"`);
  expect(start, `section ${id}`).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</section>', start));
}

const unescapeHtml = (s: string): string =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** every src/href (and CSS url()) pointing outside the file */
function externalRefs(html: string): string[] {
  const attrs = [...html.matchAll(/\b(?:src|href|xlink:href|action|poster|srcset)\s*=\s*(["']?)([^"'\s>]*)\1/gi)].map(
    (m) => m[2]!,
  );
  const urls = [...html.matchAll(/url\(\s*["']?([^)"']*)/gi)].map((m) => m[1]!);
  return [...attrs, ...urls]
    .filter((u) => !u.startsWith('#') && !u.startsWith('data:'))
    .concat(
      [...html.matchAll(/<(?:link|iframe|img|script\s+src|object|embed)\b[^>]*>/gi)].map((m) => m[0]),
      [...html.matchAll(/@import/gi)].map((m) => m[0]),
    );
}

const pct2 = (v: number): string => `${(v * 100).toFixed(2)}%`;

const outA = join(dir, 'runs', 'a'),
  outB = join(dir, 'runs', 'b'),
  outS = join(dir, 'sweeps', 's1');
let trainA: CliResult, trainB: CliResult, sweep: CliResult;

beforeAll(async () => {
  trainA = await run(['train', '--in-process', '--config', 'small.yaml', '--out', outA, '--log-format', 'json']);
  trainB = await run(['train', '--workers', '2', '--config', 'small.yaml', '--out', outB, '--log-format', 'json']);
  sweep = await run(
    ['sweep', '--config', 'sweep.yaml', '--workers', '2', '--out', outS, '--log-format', 'json'],
    dir,
    180_000,
  );
}, 240_000);

describe('gradwire train records its run in the experiment store', () => {
  it('train --in-process: in runs/gradwire.db (beside --out) with its status, epochs and accuracies', async () => {
    expect(trainA.stderr).toBe('');
    expect(trainA.status).toBe(0);
    expect(existsSync(join(dir, 'runs', 'gradwire.db'))).toBe(true);
    const s = json(join(outA, 'summary.json'));
    const item = (await listJson()).find((i) => i.id === s.runId);
    expect(item).toMatchObject({
      kind: 'run',
      status: 'finished',
      store: join(dir, 'runs', 'gradwire.db'),
      epochs: csv(join(outA, 'epochs.csv')).length,
      valAccuracy: s.valAccuracy,
      testAccuracy: s.testAccuracy,
      mode: 'in-process',
      workers: 0,
    });
    expect(item!.epochs).toBe(12);
  });

  it('train --workers 2: finished, distributed, 2 workers', async () => {
    expect(trainB.status).toBe(0);
    const s = json(join(outB, 'summary.json'));
    expect(s.workers).toBe(2);
    expect((await listJson()).find((i) => i.id === s.runId)).toMatchObject({
      kind: 'run',
      status: 'finished',
      mode: 'distributed',
      workers: 2,
      epochs: 12,
      valAccuracy: s.valAccuracy,
      testAccuracy: s.testAccuracy,
    });
  });

  it('SIGTERM: the run is recorded as stopped with the epochs it finished', async () => {
    const long = join(withFiles({ 'long.yaml': SMALL.replace('epochs: 12', 'epochs: 100000') }), 'long.yaml');
    const store = join(tempDir(), 'stopped.db');
    const p = new Proc(
      'train',
      spawn(
        process.execPath,
        [
          ...NODE_ARGS,
          CLI,
          'train',
          '--workers',
          '1',
          '--config',
          long,
          '--out',
          join(tempDir(), 'long'),
          '--store',
          store,
          '--log-format',
          'json',
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...ENV } },
      ),
    );
    try {
      await p.waitForEvent('epoch', (e) => (e.epoch as number) >= 2);
      p.kill('SIGTERM');
      expect(await p.exited).toBe(143);
    } finally {
      p.kill('SIGKILL');
    }
    const items = await listJson(['--store', store]);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ kind: 'run', status: 'stopped', testAccuracy: null });
    expect(items[0]!.epochs).toBeGreaterThanOrEqual(2);
    expect(items[0]!.epochs).toBe(p.events.filter((e) => e.event === 'epoch').length);
  });

  it('--store FILE records there; a --store whose folder does not exist is a usage error', async () => {
    const store = join(tempDir(), 'mine.db');
    const r = await run([
      'train',
      '--in-process',
      '--config',
      'small.yaml',
      '--out',
      join(tempDir(), 'x'),
      '--store',
      store,
      '--log-format',
      'json',
    ]);
    expect(r.status).toBe(0);
    expect((await listJson(['--store', store])).map((i) => i.status)).toEqual(['finished']);
    const bad = await run(['train', '--in-process', '--config', 'small.yaml', '--store', '/nonexistent-folder/x.db']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(
      /gradwire: error: --store \/nonexistent-folder\/x\.db: folder \/nonexistent-folder: it does not exist; create it first/,
    );
  });
});

describe('recordRun (the store side of a run)', () => {
  const log = pino({ level: 'silent' });
  const row = (epoch: number) => ({
    epoch,
    step: epoch * 4,
    trainLoss: 1 / epoch,
    trainAccuracy: 0.5,
    valLoss: 1,
    valAccuracy: 0.6,
    lr: 0.01,
    samplesPerSecond: 100,
    seconds: 0.1,
  });

  it('finished with the summary, stopped without one, failed on an exception (rethrown)', async () => {
    const store = Store.open(join(tempDir(), 'r.db'));
    const o = (runId: string) => ({ runId, config: DEFAULT_RUN_CONFIG, outDir: join(tempDir(), runId), log });
    const summary = { runId: 'a', valAccuracy: 0.6, testAccuracy: 0.7 } as RunSummary;
    await expect(
      recordRun(store, o('a'), async (onEpoch) => {
        expect(store.run('a')?.status).toBe('running');
        expect(onEpoch!(row(1))).toBe('continue');
        onEpoch!(row(2));
        return summary;
      }),
    ).resolves.toBe(summary);
    await recordRun(store, o('b'), async (onEpoch) => {
      onEpoch!(row(1));
      return null;
    });
    await expect(
      recordRun(store, o('c'), async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(store.runs().map((r) => [r.id, r.status, r.epochs, r.testAccuracy])).toEqual([
      ['a', 'finished', 2, 0.7],
      ['b', 'stopped', 1, null],
      ['c', 'failed', 0, null],
    ]);
    store.close();
  });
});

describe('Store.open readonly (what runs and report use)', () => {
  it('reads an existing store alongside its writer; never creates, migrates or writes one', () => {
    const d = tempDir(),
      path = join(d, 's.db');
    expect(() => Store.open(path, { readonly: true })).toThrow(`cannot open experiment store ${path}: no such file`);
    expect(existsSync(path)).toBe(false);
    const writer = Store.open(path);
    writer.createRun('r', 'run', {});
    const reader = Store.open(path, { readonly: true });
    try {
      expect(reader.runs().map((r) => [r.id, r.status, r.epochs])).toEqual([['r', 'running', 0]]);
      writer.addEpoch('r', {
        epoch: 1,
        step: 3,
        trainLoss: 1,
        trainAccuracy: 0.5,
        valLoss: 1,
        valAccuracy: 0.75,
        lr: 0.1,
        samplesPerSecond: 9,
      });
      expect(reader.runs()[0]).toMatchObject({ epochs: 1, lastValAccuracy: 0.75, valAccuracy: null });
      expect(() => reader.createRun('q', 'run', {})).toThrow(/readonly/);
    } finally {
      reader.close();
      writer.close();
    }
    const other = join(d, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE t (a)');
    db.close();
    expect(() => Store.open(other, { readonly: true })).toThrow(
      `${other} is not a gradwire experiment store (no schema_version table)`,
    );
  });
});

describe('gradwire report ID: a run', () => {
  it('writes one self-contained file with the sections, and prints its path', async () => {
    const s = json(join(outA, 'summary.json'));
    const file = join(dir, 'reports', 'a.html');
    const r = await run(['report', s.runId, '--out', file]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(file);
    const html = readFileSync(file, 'utf8');
    for (const id of ['summary', 'curves', 'throughput', 'config']) section(html, id);
    expect(externalRefs(html)).toEqual([]);
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
  });

  it('its numbers are those of summary.json, epochs.csv and config.json', async () => {
    const s = json(join(outA, 'summary.json'));
    const epochs = csv(join(outA, 'epochs.csv'));
    const file = join(dir, 'reports', 'a2.html');
    expect((await run(['report', s.runId, '--out', file])).status).toBe(0);
    const html = readFileSync(file, 'utf8');
    const summary = section(html, 'summary');
    // as the run printed them: "test accuracy 93.33%"
    for (const v of [
      pct2(s.testAccuracy),
      pct2(s.valAccuracy),
      s.weightsSha256,
      s.model,
      String(s.steps),
      `${s.samplesPerSecond}`,
    ]) {
      expect(summary).toContain(v);
    }
    expect(summary).toContain('in-process');
    // one point per epoch in each curve
    const curves = section(html, 'curves');
    for (const k of ['trainLoss', 'valLoss', 'trainAccuracy', 'valAccuracy']) {
      expect(curves.match(new RegExp(`data-series="${k}" data-index="`, 'g')), k).toHaveLength(epochs.length);
    }
    // the validation accuracy points, titled with epochs.csv's values
    const titles = [...curves.matchAll(/data-series="valAccuracy" data-index="\d+"[^>]*><title>([^<]*)<\/title>/g)];
    expect(titles.map((m) => m[1])).toEqual(
      epochs.map((e) => `validation accuracy, epoch ${e.epoch}: ${pct2(Number(e.valAccuracy))}`),
    );
    // the per-epoch table holds epochs.csv's validation accuracies exactly
    const table = section(html, 'epochs');
    expect([...table.matchAll(/data-v="([^"]*)"/g)].map((m) => m[1])).toEqual(epochs.map((e) => e.valAccuracy));
    // one bar per epoch, titled with its samples/s
    const bars = [...section(html, 'throughput').matchAll(/<title>epoch (\d+): (\d+) samples\/s<\/title>/g)];
    expect(bars.map((m) => [m[1], m[2]])).toEqual(epochs.map((e) => [e.epoch, e.samplesPerSecond]));
    // the config, as JSON, is config.json
    const pre = /<pre class="json">([\s\S]*?)<\/pre>/.exec(section(html, 'config'))![1]!;
    expect(JSON.parse(unescapeHtml(pre))).toEqual(json(join(outA, 'config.json')));
  });

  it('the same run renders the same bytes, charts included, whatever was rendered before', () => {
    const s = json(join(outA, 'summary.json'));
    const reader = Store.open(join(dir, 'runs', 'gradwire.db'), { readonly: true });
    try {
      const found = findExperiment([reader], s.runId)!;
      const first = renderFound(found, '2026-01-01T00:00:00Z');
      expect(first).toContain('data-chart="loss"');
      renderFound(findExperiment([reader], json(join(outB, 'summary.json')).runId)!, 'x');
      expect(renderFound(found, '2026-01-01T00:00:00Z')).toBe(first);
    } finally {
      reader.close();
    }
  });

  it('the distributed run says so, with its workers', async () => {
    const s = json(join(outB, 'summary.json'));
    const file = join(dir, 'reports', 'b.html');
    expect((await run(['report', s.runId, '--out', file])).status).toBe(0);
    const summary = section(readFileSync(file, 'utf8'), 'summary');
    expect(summary).toContain('distributed, 2 workers');
    expect(summary).toContain(s.kernel);
  });

  it('without --out: ./report-<id>.html; a unique beginning of an id is enough', async () => {
    const s = json(join(outB, 'summary.json'));
    const cwd = dir;
    const r = await run(['report', s.runId], cwd);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(join(cwd, `report-${s.runId}.html`));
    expect(existsSync(join(cwd, `report-${s.runId}.html`))).toBe(true);
    const prefix = await run(['report', 'sweep-', '--out', join(tempDir(), 'p.html')]);
    expect(prefix.status).toBe(0);
    const ambiguous = await run(['report', 'run-']);
    expect(ambiguous.status).toBe(2);
    expect(ambiguous.stderr).toMatch(/"run-" is the beginning of \d+ ids \(run-.*\); give more of it/);
  });

  it('a failed run and a running one without epochs still get a report, saying no epochs were recorded', async () => {
    const path = join(tempDir(), 'x.db');
    const store = Store.open(path);
    store.createRun('r-failed', 'run', DEFAULT_RUN_CONFIG);
    store.finishRun('r-failed', 'failed', null);
    store.createRun('r-running', 'run', DEFAULT_RUN_CONFIG);
    store.close();
    const file = join(tempDir(), 'failed.html');
    expect((await run(['report', 'r-failed', '--store', path, '--out', file])).status).toBe(0);
    const reader = Store.open(path, { readonly: true });
    for (const id of ['r-failed', 'r-running']) {
      // the second one rendered here, as `report` does
      const html = id === 'r-failed' ? readFileSync(file, 'utf8') : renderFound(findExperiment([reader], id)!);
      for (const s of ['summary', 'curves', 'throughput', 'config']) section(html, s);
      expect(section(html, 'curves')).toMatch(/No epochs recorded/);
      expect(section(html, 'summary')).toContain(id === 'r-failed' ? 'failed' : 'running');
    }
    reader.close();
  });
});

describe('resuming', () => {
  it('a run resumed from its --out (here: a finished one) is a new run holding the epochs it inherits', async () => {
    const first = json(join(outA, 'summary.json'));
    const r = await run(['train', '--in-process', '--config', 'small.yaml', '--out', outA, '--log-format', 'json']);
    expect(r.status).toBe(0);
    const again = json(join(outA, 'summary.json'));
    expect(again.runId).not.toBe(first.runId);
    expect(again.resumedFromStep).toBe(first.steps);
    const item = (await listJson()).find((i) => i.id === again.runId);
    expect(item).toMatchObject({ status: 'finished', epochs: 12, valAccuracy: first.valAccuracy });
    const store = Store.open(join(dir, 'runs', 'gradwire.db'), { readonly: true });
    try {
      expect(store.epochs(again.runId)).toEqual(store.epochs(first.runId));
    } finally {
      store.close();
    }
  });
});

describe('a sweep in the store', () => {
  it('gradwire runs lists the sweep (not its trials unless --all), with its best trial', async () => {
    expect(sweep.status).toBe(0);
    const s = json(join(outS, 'summary.json'));
    const items = await listJson();
    const sw = items.find((i) => i.id === s.sweepId);
    expect(sw).toMatchObject({
      kind: 'sweep',
      status: 'finished',
      store: join(outS, 'gradwire.db'),
      trials: 4,
      trialsPlanned: 4,
      valAccuracy: s.best.valAccuracy,
      testAccuracy: s.best.testAccuracy,
    });
    expect(sw!.best!.index).toBe(s.best.index);
    expect(sw!.epochs).toBe(s.epochsTrained);
    expect(items.filter((i) => i.kind === 'trial')).toEqual([]);
    const all = await listJson(['--all']);
    const trials = all.filter((i) => i.kind === 'trial');
    expect(trials.map((t) => t.trial)).toEqual([0, 1, 2, 3]);
    expect(trials.every((t) => t.sweepId === s.sweepId)).toBe(true);
    // trials come right after their sweep
    const at = all.findIndex((i) => i.id === s.sweepId);
    expect(all.slice(at + 1, at + 5).map((i) => i.kind)).toEqual(['trial', 'trial', 'trial', 'trial']);
  });

  it('the text table: aligned columns, the sweep with TRIALS 4/4 and its best', async () => {
    const s = json(join(outS, 'summary.json'));
    const r = await run(['runs']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^ID\s+KIND\s+STATUS\s+CREATED \(UTC\)\s+EPOCHS\s+VAL ACC\s+TEST ACC\s+MODE\s+TRIALS\s+BEST\s+FOLDER$/,
    );
    const line = lines.find((l) => l.startsWith(s.sweepId))!;
    expect(line).toMatch(
      new RegExp(
        `^${s.sweepId}\\s+sweep\\s+finished\\s.*\\s${pct2(s.best.valAccuracy).replace('.', '\\.')}\\s+.*\\s4/4\\s+#${s.best.index}\\s+\\S+$`,
      ),
    );
    // FOLDER: where the sweep wrote its outputs (relative to the current folder when inside it)
    expect(resolve(dir, line.split(/\s+/).pop()!)).toBe(resolve(outS));
    const header = lines[0]!;
    const a = json(join(outB, 'summary.json'));
    const runLine = lines.find((l) => l.startsWith(a.runId))!;
    // STATUS starts at the same column in every row
    expect(runLine.indexOf('finished')).toBe(header.indexOf('STATUS'));
    expect(runLine).toContain('2 workers');
    expect(lines.some((l) => l.includes(`${s.sweepId}-t`))).toBe(false);
  });

  it('report SWEEP_ID: the sweep report, made from the store, is the one the sweep wrote', async () => {
    const s = json(join(outS, 'summary.json'));
    const file = join(dir, 'reports', 'sweep.html');
    const r = await run(['report', s.sweepId, '--out', file]);
    expect(r.status).toBe(0);
    const html = readFileSync(file, 'utf8');
    for (const id of ['findings', 'best', 'best-so-far', 'curves', 'parallel', 'per-value', 'trials'])
      section(html, id);
    const rows = section(html, 'trials').match(/<tr class="/g);
    expect(rows).toHaveLength(4);
    const trials = csv(join(outS, 'trials.csv'));
    const table = section(html, 'trials');
    for (const t of trials) expect(table).toContain(`data-v="${t.valAccuracy}"`);
    expect(section(html, 'best')).toContain(`${(s.best.testAccuracy * 100).toFixed(1)}%`);
    expect(externalRefs(html)).toEqual([]);
    const strip = (h: string): string => h.replace(/Generated [^<]* by gradwire\./, '');
    expect(strip(html)).toBe(strip(readFileSync(join(outS, 'report.html'), 'utf8')));
  });

  it('report of a trial: its run, pointing back to its sweep', async () => {
    const s = json(join(outS, 'summary.json'));
    const file = join(dir, 'reports', 't1.html');
    expect((await run(['report', `${s.sweepId}-t1`, '--out', file])).status).toBe(0);
    const html = readFileSync(file, 'utf8');
    const summary = section(html, 'summary');
    expect(summary).toContain(`${s.sweepId}, trial #1`);
    expect(summary).toContain(`gradwire report ${s.sweepId}`);
    expect(summary).toContain('not evaluated');
    const t = json(join(outS, 'trials', '1', 'summary.json'));
    expect(summary).toContain(pct2(t.valAccuracy));
    expect(section(html, 'curves').match(/data-series="valAccuracy" data-index="/g)).toHaveLength(t.epochs);
  });
});

describe('errors and help', () => {
  it('an unknown id: exit 2, where it looked, and gradwire runs', async () => {
    const r = await run(['report', 'no-such-run']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^gradwire: error: no run or sweep "no-such-run" in .*runs\/gradwire\.db, sweeps\/\*\/gradwire\.db and \.\/gradwire\.db in .*; gradwire runs lists them/,
    );
  });

  it('no store anywhere: runs and report say so', async () => {
    const empty = tempDir();
    for (const args of [
      ['runs', '--json'],
      ['report', 'x'],
    ]) {
      const r = await run(args, empty);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(
        `gradwire: error: no experiment store found in runs/gradwire.db, sweeps/*/gradwire.db and ./gradwire.db in ${empty}; run gradwire train or sweep first, or pass --store FILE`,
      );
    }
    // GRADWIRE_STORE is a place to look too
    const viaEnv = await cli(['runs', '--json'], empty, { GRADWIRE_STORE: join(dir, 'runs', 'gradwire.db') });
    expect(viaEnv.status).toBe(0);
    expect((JSON.parse(viaEnv.stdout) as Item[]).length).toBeGreaterThanOrEqual(3);
  });

  it('bad flags and arguments: exit 2 naming the flag', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['runs', '--frobnicate'], /--frobnicate.*see --help/],
      [['report'], /give the id of a run or sweep: gradwire report ID \(gradwire runs lists them\)/],
      [['report', 'a', 'b', '--outt', 'f.html'], /--outt.*see --help/],
      [
        ['report', 'x', '--store', '/nonexistent.db'],
        /--store \/nonexistent\.db: it does not exist; give the path of an experiment store file/,
      ],
      [
        ['runs', '--store', join(dir, 'small.yaml')],
        /--store: cannot open experiment store .*small\.yaml: the file is not a SQLite database/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('--help on runs and report; the main help lists them; train documents --store', async () => {
    const main = await run(['--help']);
    expect(main.stdout).toMatch(/\n {2}runs {9}list the runs and sweeps/);
    expect(main.stdout).toMatch(/\n {2}report {7}write a self-contained HTML report/);
    const runs = await run(['runs', '--help']);
    expect(runs.status).toBe(0);
    expect(runs.stdout).toMatch(/--store FILE[\s\S]*--all[\s\S]*--json/);
    const report = await run(['report', '--help']);
    expect(report.status).toBe(0);
    expect(report.stdout).toMatch(/Usage: gradwire report ID \[--out FILE\.html\] \[--store FILE\]/);
    expect((await run(['train', '--help'])).stdout).toMatch(
      /--store FILE[\s\S]*GRADWIRE_STORE[\s\S]*runs\/gradwire\.db/,
    );
  });
});
