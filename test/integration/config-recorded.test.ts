// A run's config.json records what ran: the keys the run reads with the values it used (adamw's
// decay as it ran), and given back as a config it trains the same weights. A key the run would
// not read stops `gradwire train` before it starts (exit 2, one line naming the key).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gradwire, tempDir, withFiles } from '../helpers/cli.js';

const RUN = `
seed: 3
data: { name: iris }
model: { hidden: [8], norm: group, groups: 4 }
optimizer: { name: adamw, lr: 0.01, schedule: cosine }
batchSize: 16
microbatch: 8
epochs: 2
`;

const json = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8'));

describe('config.json', () => {
  it('records what ran, and trains the same weights when given back', async () => {
    const dir = withFiles({ 'run.yaml': RUN });
    const out1 = join(dir, 'one');
    const r1 = await gradwire(['train', '--in-process', '--config', join(dir, 'run.yaml'), '--out', out1]);
    expect(r1.status, r1.stderr).toBe(0);
    const recorded = json(join(out1, 'config.json'));
    expect(recorded.optimizer).toEqual({
      name: 'adamw',
      lr: 0.01,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.01,
      decay: 'decoupled',
      clipNorm: 0,
      schedule: { name: 'cosine', minLr: 0, warmupSteps: 0 },
    });
    expect(recorded.model).toMatchObject({ norm: 'group', groups: 4 });
    expect(recorded.model).not.toHaveProperty('channels');

    const out2 = join(dir, 'two');
    const r2 = await gradwire(['train', '--in-process', '--config', join(out1, 'config.json'), '--out', out2]);
    expect(r2.status, r2.stderr).toBe(0);
    expect(json(join(out2, 'summary.json')).weightsSha256).toBe(json(join(out1, 'summary.json')).weightsSha256);
  });

  it('a key the optimizer would not read stops the run with exit 2, naming it', async () => {
    const dir = withFiles({ 'run.yaml': 'data: { name: iris }\noptimizer: { name: sgd, momentum: 0.5 }\nepochs: 1\n' });
    const r = await gradwire(['train', '--in-process', '--config', join(dir, 'run.yaml'), '--out', tempDir()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('optimizer.momentum: 0.5 is not used by sgd; it is used by momentum and nesterov');
  });
});
