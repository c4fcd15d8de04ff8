// Invariant I1 over real sockets: the same weights, bit for bit, in-process and with 1–4
// worker processes, with BatchNorm + dropout and with LayerNorm; batches whose last
// microbatch is short, and an epoch whose last batch is short.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withFiles } from '../helpers/cli.js';
import { inProcessSha, killAll, trainWithWorkers } from '../helpers/cluster.js';

// 960 training samples, batch 50 → 19 steps of 50 and one of 10 per epoch; microbatch 8 →
// 6 microbatches of 8 and one of 2 per full batch
const config = (norm: string): string => `
seed: 21
data: { name: spirals, samples: 1200, classes: 3, noise: 0.2 }
model: { hidden: [32, 24], activation: gelu, init: he_uniform, norm: ${norm}, dropout: 0.2 }
optimizer: { name: adam, lr: 0.01 }
batchSize: 50
microbatch: 8
epochs: 2
`;

afterAll(killAll);

describe.each(['batch', 'layer'])('I1 with norm: %s, dropout 0.2', (norm) => {
  const dir = withFiles({ 'run.yaml': config(norm) });
  const file = join(dir, 'run.yaml');
  let reference!: string;
  beforeAll(async () => {
    reference = await inProcessSha(file);
  });

  it.each([1, 2, 3, 4])('%i worker(s) end with the in-process weightsSha256', async (n) => {
    const s = await trainWithWorkers(file, n);
    expect(s.mode).toBe('distributed');
    expect(s.workers).toBe(n);
    expect(s.steps).toBe(40);
    expect(s.weightsSha256).toBe(reference);
  });
});
