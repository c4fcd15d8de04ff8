// `gradwire train` on one machine as a user runs it (real processes, real files): with no mode
// flag it computes with the compute threads of its own process, and the weights are those of
// `--in-process`, bit for bit, for any number of threads, with batch norm, layer norm and
// dropout, and when a thread throws or exits mid-step (its microbatches are computed again).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gradwire, withFiles } from '../helpers/cli.js';

const BN = `
seed: 5
data: { name: iris }
model: { hidden: [16], activation: tanh, init: xavier_uniform, norm: batch, dropout: 0.1 }
optimizer: { name: adam, lr: 0.01 }
batchSize: 16
microbatch: 2
epochs: 6
`;
const LN = BN.replace('norm: batch', 'norm: layer');

interface Summary {
  mode: string;
  threads?: number;
  workers: number;
  steps: number;
  weightsSha256: string;
}
const summary = (out: string): Summary => JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;

async function train(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stderr: string; stdout: string }> {
  return await gradwire(['train', ...args, '--log-format', 'json'], { env: { GRADWIRE_THREADS: '', ...env } });
}

describe.each([
  ['batch norm + dropout', BN],
  ['layer norm + dropout', LN],
])('gradwire train with threads, %s', (_name, config) => {
  const dir = withFiles({ 'run.yaml': config });
  const cfg = join(dir, 'run.yaml');
  let reference = '';
  beforeAll(async () => {
    const r = await train(['--in-process', '--config', cfg, '--out', join(dir, 'ref')]);
    expect(r.status, r.stderr).toBe(0);
    reference = summary(join(dir, 'ref')).weightsSha256;
  });

  it.each([1, 2, 3])('--threads %i ends with the in-process weightsSha256', async (threads) => {
    const out = join(dir, `t${threads}`);
    const r = await train(['--threads', String(threads), '--config', cfg, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(summary(out)).toMatchObject({ mode: 'threads', threads, workers: 0, weightsSha256: reference });
  });

  it('no flag: the threads of GRADWIRE_THREADS (or every CPU it may use)', async () => {
    const out = join(dir, 'env');
    const r = await train(['--config', cfg, '--out', out], { GRADWIRE_THREADS: '2' });
    expect(r.status, r.stderr).toBe(0);
    expect(summary(out)).toMatchObject({ mode: 'threads', threads: 2, weightsSha256: reference });
  });

  it.each(['throw:1:3', 'exit:0:5'])(
    'a thread that fails mid-step (%s) is replaced, the step computed again, the weights unchanged',
    async (fault) => {
      const out = join(dir, `fault-${fault.replace(/:/g, '-')}`);
      const r = await train(['--threads', '2', '--config', cfg, '--out', out], { GRADWIRE_TEST_THREAD_FAULT: fault });
      expect(r.status, r.stderr).toBe(0);
      const events = r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { event?: string; step?: number; thread?: number });
      const step = Number(fault.split(':')[2]);
      expect(events.filter((e) => e.event === 'thread-lost').map((e) => e.thread)).toEqual([
        Number(fault.split(':')[1]),
      ]);
      expect(events.filter((e) => e.event === 'step-retry').map((e) => e.step)).toEqual([step]);
      expect(summary(out).weightsSha256).toBe(reference);
    },
  );
});

describe('gradwire train: choosing the mode', () => {
  it('--threads takes auto or a whole number; a bad value exits 2 naming it and what is allowed', async () => {
    for (const bad of ['0', '-1', 'two', '1.5']) {
      const r = await gradwire(['train', `--threads=${bad}`, '--config', '/nonexistent.yaml']);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('--threads');
      expect(r.stderr).toContain(`"${bad}"`);
      expect(r.stderr).toMatch(/auto/);
    }
  });

  it('--threads, --workers and --in-process exclude each other', async () => {
    const r = await gradwire(['train', '--threads', '2', '--in-process']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /--in-process and --threads exclude each other|--threads and --in-process exclude each other/,
    );
    const w = await gradwire(['train', '--threads', '2', '--workers', '2']);
    expect(w.status).toBe(2);
    expect(w.stderr).toMatch(/exclude each other/);
  });

  it('--help documents the three modes and GRADWIRE_THREADS', async () => {
    const r = await gradwire(['train', '--help']);
    expect(r.stdout).toMatch(/--threads N[\s\S]*GRADWIRE_THREADS/);
    expect(r.stdout).toMatch(/--workers N/);
    expect(r.stdout).toMatch(/--in-process/);
  });
});
