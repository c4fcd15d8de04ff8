// `gradwire train --in-process` as a user runs it: a real process, real files.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../shared/checkpoint.js';
import { Model } from '../../shared/nn/model.js';
import '../../shared/node/kernels-wasm.js';
import { CLI, type CliResult, NODE_ARGS, gradwire, tempDir, withFiles } from '../helpers/cli.js';

const IRIS = `
seed: 5
data: { name: iris }
model: { hidden: [16], activation: tanh, init: xavier_uniform, norm: batch, dropout: 0.1 }
optimizer: { name: adam, lr: 0.01 }
batchSize: 16
microbatch: 4
epochs: 15
`;

/** sha256 of every parameter and BN running statistic, in model order, little-endian float32,
 *  written out from the checkpoint independently of Model.stateBytes */
function shaFromCheckpoint(path: string): string {
  const ckpt = decodeCheckpoint(readFileSync(path), path);
  const model = Model.fromConfig(ckpt.config.model, 4, 3);
  const h = createHash('sha256');
  let p = 0,
    b = 0;
  for (const layer of model.layers) {
    for (const [, n] of layer.paramShapes()) {
      const buf = Buffer.alloc(n * 4);
      for (let i = 0; i < n; i++) buf.writeFloatLE(ckpt.state.params[p++]!, i * 4);
      h.update(buf);
    }
    for (const [, n] of layer.bufferShapes()) {
      const buf = Buffer.alloc(n * 4);
      for (let i = 0; i < n; i++) buf.writeFloatLE(ckpt.state.buffers[b++]!, i * 4);
      h.update(buf);
    }
  }
  return h.digest('hex');
}

describe('gradwire train --in-process', () => {
  const dir = withFiles({ 'iris.yaml': IRIS });
  const out1 = join(dir, 'a'),
    out2 = join(dir, 'b');
  let r1!: CliResult;
  let r2!: CliResult;
  beforeAll(async () => {
    r1 = await gradwire([
      'train',
      '--in-process',
      '--config',
      join(dir, 'iris.yaml'),
      '--out',
      out1,
      '--log-format',
      'json',
    ]);
    r2 = await gradwire([
      'train',
      '--in-process',
      '--config',
      join(dir, 'iris.yaml'),
      '--out',
      out2,
      '--log-format',
      'json',
    ]);
  });

  it('succeeds and writes summary.json, epochs.csv, steps.csv, config.json and a checkpoint', () => {
    expect(r1.stderr).toBe('');
    expect(r1.status).toBe(0);
    for (const f of ['summary.json', 'epochs.csv', 'steps.csv', 'config.json', 'checkpoint.gwc']) {
      expect(existsSync(join(out1, f)), f).toBe(true);
    }
  });

  it('summary.json holds the fields of the output contract with consistent values', () => {
    const s = JSON.parse(readFileSync(join(out1, 'summary.json'), 'utf8'));
    for (const k of [
      'workers',
      'steps',
      'epochs',
      'trainLoss',
      'valAccuracy',
      'testAccuracy',
      'samplesPerSecond',
      'wallSeconds',
      'weightsSha256',
    ]) {
      expect(s, k).toHaveProperty(k);
    }
    // iris: 150 samples → 120 / 15 / 15; ⌈120/16⌉ = 8 steps per epoch
    expect(s.dataset).toMatchObject({ train: 120, val: 15, test: 15 });
    expect(s.steps).toBe(8 * 15);
    expect(s.epochs).toBe(15);
    expect(s.testAccuracy).toBeGreaterThan(0.8);
    // training samples over the time spent in training steps; trainSeconds is rounded to 1 ms,
    // so the exact time lies within ±0.5 ms of it (a fast run of ~25 ms makes that ±2%)
    expect(s.samplesPerSecond).toBeGreaterThanOrEqual(((120 * 15) / (s.trainSeconds + 0.0005)) * 0.999);
    expect(s.samplesPerSecond).toBeLessThanOrEqual(((120 * 15) / Math.max(s.trainSeconds - 0.0005, 1e-6)) * 1.001);
    expect(s.wallSeconds).toBeGreaterThanOrEqual(s.trainSeconds);
  });

  it('weightsSha256 is the sha256 of the parameters and BN running statistics in model order', () => {
    const s = JSON.parse(readFileSync(join(out1, 'summary.json'), 'utf8'));
    expect(s.weightsSha256).toBe(shaFromCheckpoint(join(out1, 'checkpoint.gwc')));
  });

  it('the same config run twice gives the same weightsSha256', () => {
    expect(r2.status, r2.stderr).toBe(0);
    const a = JSON.parse(readFileSync(join(out1, 'summary.json'), 'utf8'));
    const b = JSON.parse(readFileSync(join(out2, 'summary.json'), 'utf8'));
    expect(b.weightsSha256).toBe(a.weightsSha256);
  });

  it('logs one JSON event per epoch (pino) when stdout is not a terminal', () => {
    const events = r1.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const epochs = events.filter((e) => e.event === 'epoch');
    expect(epochs.map((e) => e.epoch)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(epochs[0]).toMatchObject({ level: 30, run: expect.any(String), valAccuracy: expect.any(Number) });
    const csv = readFileSync(join(out1, 'epochs.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(16);
  });
});

describe('command-line usage', () => {
  it('--help on the CLI and on train', async () => {
    const main = await gradwire(['--help']);
    expect(main.status).toBe(0);
    expect(main.stdout).toMatch(/Commands:[\s\S]*train/);
    const train = await gradwire(['train', '--help']);
    expect(train.status).toBe(0);
    expect(train.stdout).toMatch(/--config FILE/);
    expect(train.stdout).toMatch(/--out DIR/);
  });

  it('an unknown flag or command is a usage error with exit code 2', async () => {
    const flag = await gradwire(['train', '--in-process', '--epochs', '3']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/gradwire: error: .*--epochs.*see --help/);
    const cmd = await gradwire(['trian']);
    expect(cmd.status).toBe(2);
    expect(cmd.stderr).toMatch(/unknown command "trian"/);
  });

  it('a missing config file names the path', async () => {
    const r = await gradwire(['train', '--in-process', '--config', '/nonexistent/run.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'gradwire: error: --config /nonexistent/run.yaml: it does not exist; give the path of a run config file\n',
    );
  });
});

describe('bad input: one clear error, exit code 2, no stack trace', () => {
  const cases: Array<[string, Record<string, string | Uint8Array>, RegExp]> = [
    [
      'an activation that does not exist',
      { 'run.yaml': 'model: { activation: relux }' },
      /model\.activation: "relux" is not one of relu, leaky_relu, elu, selu, gelu, sigmoid, tanh, softplus, silu/,
    ],
    ['a negative learning rate', { 'run.yaml': 'optimizer: { lr: -0.1 }' }, /optimizer\.lr: -0\.1 must be >= 0/],
    [
      'a beta outside [0, 1)',
      { 'run.yaml': 'optimizer: { name: adam, beta2: 1 }' },
      /optimizer\.beta2: 1 must be in \[0, 1\)/,
    ],
    [
      'a dropout rate outside [0, 1)',
      { 'run.yaml': 'model: { dropout: 1.5 }' },
      /model\.dropout: 1\.5 must be in \[0, 1\)/,
    ],
    [
      'GroupNorm groups that do not divide the width',
      { 'run.yaml': 'model: { hidden: [10], norm: group, groups: 3 }' },
      /model\.groups: 3 does not divide/,
    ],
    ['an unknown key', { 'run.yaml': 'model: { colour: red }' }, /model\.colour: unknown key/],
    [
      'a CSV cell that is not a number',
      {
        'run.yaml': 'data: { name: csv, path: d.csv, labelColumn: label }',
        'd.csv': 'a,b,label\n1,2,x\n3,oops,y\n',
      },
      /d\.csv: row 3, column "b": "oops" is not a number/,
    ],
    [
      'a label column that does not exist',
      {
        'run.yaml': 'data: { name: csv, path: d.csv, labelColumn: species }',
        'd.csv': 'a,b,label\n1,2,x\n',
      },
      /species/,
    ],
    [
      'an IDX file with the wrong magic',
      {
        'run.yaml': 'data: { name: idx, images: i.idx, labels: l.idx }',
        'i.idx': new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 1]),
        'l.idx': new Uint8Array([0, 0, 8, 1, 0, 0, 0, 1, 7]),
      },
      /i\.idx: not an IDX file/,
    ],
    [
      'a truncated IDX file',
      {
        'run.yaml': 'data: { name: idx, images: i.idx, labels: l.idx }',
        'i.idx': new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3]),
        'l.idx': new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 0, 1]),
      },
      /i\.idx: truncated/,
    ],
    [
      'IDX label and image counts that differ',
      {
        'run.yaml': 'data: { name: idx, images: i.idx, labels: l.idx }',
        'i.idx': new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 9, 9]),
        'l.idx': new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 1]),
      },
      /count mismatch/,
    ],
  ];

  it.each(cases)('%s', async (_name, files, message) => {
    const dir = withFiles(files);
    const r = await gradwire(['train', '--in-process', '--config', join(dir, 'run.yaml'), '--out', tempDir()]);
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(2);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('--debug adds the stack trace', async () => {
    const dir = withFiles({ 'run.yaml': 'model: { activation: relux }' });
    const r = await gradwire(['train', '--in-process', '--config', join(dir, 'run.yaml'), '--debug']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('gradwire train --in-process stops on SIGTERM', () => {
  it('between two steps: a checkpoint at the step reached, and exit 143 (128 + SIGTERM: stopped, not done)', async () => {
    const { spawn } = await import('node:child_process');
    const { Proc } = await import('../helpers/cluster.js');
    const dir = withFiles({
      'long.yaml':
        'data: { name: spirals, samples: 2000, classes: 3 }\nmodel: { hidden: [32, 32] }\nbatchSize: 16\nepochs: 500\n',
    });
    const out = tempDir();
    const child = spawn(
      process.execPath,
      [
        ...NODE_ARGS,
        CLI,
        'train',
        '--in-process',
        '--config',
        join(dir, 'long.yaml'),
        '--out',
        out,
        '--log-format',
        'json',
        '--log-level',
        'debug',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const p = new Proc('train', child);
    await p.waitForEvent('step', (e) => Number(e.step) >= 50, 60_000);
    p.kill('SIGTERM');
    const stopped = await p.waitForEvent('stopped', () => true, 20_000);
    expect(await p.exited).toBe(143);
    const ckpt = decodeCheckpoint(readFileSync(join(out, 'checkpoint.gwc')), 'checkpoint.gwc');
    expect(ckpt.state.step).toBe(stopped.step);
    expect(Number(stopped.step)).toBeLessThan(500 * 100); // long before the end
  }, 90_000);
});
