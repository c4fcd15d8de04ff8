// Extending a run (issue 15): a run trained for E epochs, run again with the same --out and a
// larger `epochs`, resumes from its checkpoint and trains the extra epochs — when the
// learning-rate schedule does not depend on the run's length (constant, step, exponential,
// warm-up), and then it ends with the weights of a run trained with the larger `epochs` from
// the start. A schedule spread over the whole run (cosine) is refused with a sentence saying
// why and what to do; fewer epochs, or any other key changed, are refused as before. The
// checkpoint cadence is not the run's config: changing it resumes.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gradwire, tempDir, withFiles } from '../helpers/cli.js';

// 2400 training samples, batch 48: 50 steps per epoch. BatchNorm, dropout (masks per step) and
// a step schedule with warm-up: everything a step depends on besides the weights
const STEPS_PER_EPOCH = 50;
const base = (schedule: string, extra = ''): string => `
seed: 5
data: { name: spirals, samples: 3000, classes: 3, noise: 0.2 }
model: { hidden: [32, 32], activation: tanh, norm: batch, dropout: 0.2 }
optimizer: { name: adam, lr: 0.01, schedule: ${schedule} }
batchSize: 48
microbatch: 8
${extra}`;
const STEP = '{ name: step, stepSize: 1, gamma: 0.7, warmupSteps: 20 }';
const file = (text: string): string => join(withFiles({ 'run.yaml': text }), 'run.yaml');

interface Run {
  status: number | null;
  stderr: string;
  events: Array<Record<string, unknown>>;
}

async function train(configText: string, out: string): Promise<Run> {
  const r = await gradwire([
    'train',
    '--in-process',
    '--config',
    file(configText),
    '--out',
    out,
    '--store',
    join(tempDir('gradwire-store-'), 'gradwire.db'),
    '--log-format',
    'json',
  ]);
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, stderr: r.stderr, events };
}

const summaryOf = (out: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
const fileSha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
/** epochs.csv without its timing columns */
const curve = (out: string): string[] =>
  readFileSync(join(out, 'epochs.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(',').slice(0, 7).join(','));

/** a finished run of `epochs` epochs in a fresh folder */
async function finished(schedule: string, epochs: number): Promise<string> {
  const out = tempDir();
  const r = await train(base(schedule, `epochs: ${epochs}`), out);
  expect(r.status, r.stderr).toBe(0);
  return out;
}

describe('raising epochs on a finished run', () => {
  it.each([
    ['a step schedule with warm-up', STEP],
    ['the constant schedule', 'constant'],
  ])(
    'with %s: resumes and ends with the weights of a run trained with the larger epochs from the start',
    async (_n, schedule) => {
      const reference = await finished(schedule, 3);
      const out = await finished(schedule, 2);
      expect(summaryOf(out).steps).toBe(2 * STEPS_PER_EPOCH);
      const r = await train(base(schedule, 'epochs: 3'), out);
      expect(r.status, r.stderr).toBe(0);
      expect(r.events.find((e) => e.event === 'resume')).toMatchObject({ step: 2 * STEPS_PER_EPOCH });
      const s = summaryOf(out);
      expect(s).toMatchObject({ steps: 3 * STEPS_PER_EPOCH, epochs: 3, resumedFromStep: 2 * STEPS_PER_EPOCH });
      expect(s.weightsSha256).toBe(summaryOf(reference).weightsSha256);
      // the extended run's curve is the whole run's, epoch by epoch (epoch, step, losses, accuracies, lr)
      expect(curve(out)).toEqual(curve(reference));
      // and it can be extended again
      const again = await train(base(schedule, 'epochs: 4'), out);
      expect(again.status, again.stderr).toBe(0);
      expect(summaryOf(out).weightsSha256).toBe(summaryOf(await finished(schedule, 4)).weightsSha256);
    },
  );

  it('with a cosine schedule (spread over the whole run): refused, saying why and what to do; the run is untouched', async () => {
    const out = await finished('cosine', 2);
    const before = fileSha(join(out, 'checkpoint.gwc'));
    const r = await train(base('cosine', 'epochs: 3'), out);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('trained with epochs: 2');
    expect(r.stderr).toContain('optimizer.schedule: cosine');
    expect(r.stderr).toContain('depends on the number of epochs');
    expect(r.stderr).toContain('train with epochs: 3 from the start in another --out, or resume with epochs: 2');
    expect(fileSha(join(out, 'checkpoint.gwc'))).toBe(before);
    expect(summaryOf(out).steps).toBe(2 * STEPS_PER_EPOCH);
  });

  it('fewer epochs, or another key changed with the epochs, stay refused as another config', async () => {
    const out = await finished(STEP, 2);
    const before = fileSha(join(out, 'checkpoint.gwc'));
    for (const text of [
      base(STEP, 'epochs: 1'),
      base(STEP, 'epochs: 3\nbatchSize: 64').replace('batchSize: 48\n', ''),
    ]) {
      const r = await train(text, out);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('checkpoint.gwc belongs to a run with another config');
    }
    expect(fileSha(join(out, 'checkpoint.gwc'))).toBe(before);
  });

  it('the checkpoint cadence is not part of the run: another checkpointEvery resumes', async () => {
    const out = tempDir();
    const first = await train(base(STEP, 'epochs: 2\ncheckpointEvery: 0'), out);
    expect(first.status, first.stderr).toBe(0);
    const r = await train(base(STEP, 'epochs: 3\ncheckpointEvery: 7\ncheckpointSeconds: 5'), out);
    expect(r.status, r.stderr).toBe(0);
    expect(summaryOf(out)).toMatchObject({
      resumedFromStep: 2 * STEPS_PER_EPOCH,
      weightsSha256: summaryOf(await finished(STEP, 3)).weightsSha256,
    });
  });
});
