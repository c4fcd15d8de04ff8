// The default run and the DESIGN example (batch norm + dropout) on built-in MNIST reach the
// accuracy of an independent numpy MLP of the same shape, optimizer and split sizes
// (numpy over 5 seeds: 94.8–95.6% plain, 94.6–96.0% with norm: batch, dropout: 0.2).
// Slow (two full runs, side by side): run by `npm run test:e2e` and in CI.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, NODE_ARGS, ROOT, tempDir, withFiles } from '../helpers/cli.js';

const DESIGN_EXAMPLE = `seed: 11
data: { name: mnist }                  # split defaults to [0.8, 0.1, 0.1], seeded, stratified
model: { hidden: [256, 128], activation: relu, init: he_normal, norm: batch, dropout: 0.2 }
optimizer: { name: adam, lr: 0.001 }   # weightDecay, schedule, clipNorm optional
batchSize: 128
epochs: 10
`;

function train(args: string[]): Promise<{ status: number | null; summary: Record<string, unknown> }> {
  const out = tempDir('gradwire-e2e-');
  return new Promise((resolveRun) => {
    const child = spawn(
      process.execPath,
      [...NODE_ARGS, CLI, 'train', '--in-process', ...args, '--out', out, '--log-format', 'json'],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    child.on('exit', (status) => {
      const summary = status === 0 ? JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) : {};
      resolveRun({ status, summary });
    });
  });
}

describe('accuracy on built-in MNIST', () => {
  const dir = withFiles({ 'design.yaml': DESIGN_EXAMPLE });
  const runs = Promise.all([train([]), train(['--config', join(dir, 'design.yaml')])]);

  it('the default run (784-256-128-10, relu, he_normal, Adam 1e-3, batch 128, 10 epochs) reaches ≥ 94.5% test accuracy', async () => {
    const [plain] = await runs;
    expect(plain.status).toBe(0);
    expect(plain.summary).toMatchObject({
      model: '784-256-128-10',
      steps: 630,
      epochs: 10,
      dataset: { train: 8000, val: 1000, test: 1000 },
    });
    expect(plain.summary.testAccuracy as number).toBeGreaterThanOrEqual(0.945);
  }, 600_000);

  it('the DESIGN example (norm: batch, dropout: 0.2) reaches ≥ 94.5% test accuracy', async () => {
    const [, bn] = await runs;
    expect(bn.status).toBe(0);
    expect(bn.summary.testAccuracy as number).toBeGreaterThanOrEqual(0.945);
  }, 600_000);
});
