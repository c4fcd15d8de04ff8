// The training step's exactness: a batch's gradient is the fixed-order reduction of its
// microbatches' gradients, whoever computes them (invariant I1), SyncBatchNorm included.
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../shared/checkpoint.js';
import { blockMerges, fillSlot, newSlot } from '../../shared/engine/pass.js';
import { alignedBlocks, treeReduce } from '../../shared/engine/reduce.js';
import {
  reduceGradientBlocks,
  resultBlocks,
  runPassSharded,
  shardGradientBlocks,
} from '../../shared/engine/sharded.js';
import { Trainer, microbatches, runPassLocally } from '../../shared/engine/trainer.js';
import { Model } from '../../shared/nn/model.js';
import '../../shared/node/kernels-wasm.js';
import { allTrain, config, toyData } from '../helpers/fixtures.js';

const data = toyData(96, 10, 3);
/** an array's own bytes (a kernel array is a view into a larger memory) */
const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('composition independence', () => {
  it('a batch of 32 as two microbatches of 16, each summed then added, is bit-identical to the trainer', () => {
    const cfg = config({ model: { dropout: 0.2 }, batchSize: 32, microbatch: 16 });
    const trainer = new Trainer(cfg, data, allTrain(data.n));
    const batch = trainer.nextBatch();
    const fromTrainer = trainer.gradientSum(batch).gradSum;

    // independent path: each half alone in a fresh model with the same initial weights
    const halves = [batch.subarray(0, 16), batch.subarray(16, 32)].map((half, i) => {
      const model = Model.fromConfig(cfg.model, data.features, data.classes).reset(cfg.seed);
      const slot = newSlot(model, 16);
      fillSlot(slot, data, half, i);
      runPassLocally(model, [slot], cfg.seed, 0);
      return slot.grads;
    });
    const sum = new Float32Array(halves[0]!.length);
    for (let i = 0; i < sum.length; i++) sum[i] = halves[0]![i]! + halves[1]![i]!;
    expect(bytes(fromTrainer).equals(bytes(sum))).toBe(true);
  });

  it.each([
    ['no normalization', {}],
    ['batch norm + dropout', { norm: 'batch' as const, dropout: 0.3 }],
  ])('%s: any split of the microbatches among workers gives the same bits', (_name, model) => {
    const cfg = config({ model, batchSize: 88, microbatch: 8 }); // 11 microbatches, the last of 8
    const reference = new Trainer(cfg, data, allTrain(data.n));
    const batch = reference.nextBatch();
    const want = reference.gradientSum(batch);

    for (const cuts of [
      [0, 11],
      [0, 5, 11],
      [0, 1, 4, 11],
      [0, 3, 6, 7, 11],
    ]) {
      const m = Model.fromConfig(cfg.model, data.features, data.classes).reset(cfg.seed);
      const parts = microbatches(batch, 8);
      const slots = parts.map((p, i) => {
        const s = newSlot(m, 8);
        fillSlot(s, data, p, i);
        return s;
      });
      const shards = cuts.slice(1).map((end, k) => slots.slice(cuts[k], end));
      const outcome = runPassSharded(m, shards, cfg.seed, 0);
      const got = reduceGradientBlocks(shards.flatMap((slots) => shardGradientBlocks(slots, m.k)));
      expect(bytes(got).equals(bytes(want.gradSum)), `cuts ${cuts}`).toBe(true);
      for (const [layer, stats] of want.bnStats) expect(outcome.bnStats.get(layer)).toEqual(stats);
    }
  });
});

describe('the pass sums each aligned block as it goes (trainPass with reduce)', () => {
  it('the merges are the binary tree of each aligned block, worked by hand', () => {
    // microbatches 0..3: one block; ((0+1)+(2+3)) — 0+1 after 1, then 2+3 and (0..1)+(2..3) after 3
    expect(blockMerges(0, 4)).toEqual([
      [],
      [[0, 1]],
      [],
      [
        [2, 3],
        [0, 2],
      ],
    ]);
    // microbatches 3..8 at positions 0..5: blocks [3], [4..7], [8]
    expect(blockMerges(3, 6)).toEqual([
      [],
      [],
      [[1, 2]],
      [],
      [
        [3, 4],
        [1, 3],
      ],
      [],
    ]);
  });

  it.each([
    ['batch norm + dropout', { norm: 'batch' as const, dropout: 0.3 }],
    ['layer norm', { norm: 'layer' as const }],
  ])(
    '%s: a run of microbatches 3..11 gives, block by block, the bits of the tree over separately computed gradients',
    (_name, model) => {
      const cfg = config({ model, batchSize: 96, microbatch: 8 });
      const batch = new Trainer(cfg, data, allTrain(data.n)).nextBatch();
      const parts = microbatches(batch, 8).slice(3); // microbatches 3..11 of 12
      const run = (reduce: boolean): ReturnType<typeof resultBlocks> => {
        const m = Model.fromConfig(cfg.model, data.features, data.classes).reset(cfg.seed);
        const slots = parts.map((p, i) => {
          const s = newSlot(m, 8);
          fillSlot(s, data, p, 3 + i);
          return s;
        });
        runPassLocally(m, slots, cfg.seed, 2, reduce);
        return resultBlocks(slots, m.k, reduce);
      };
      const fused = run(true);
      const separate = run(false);
      expect(fused.map((b) => [b.start, b.size])).toEqual([
        [3, 1],
        [4, 4],
        [8, 4],
      ]);
      fused.forEach((b, i) => {
        expect(bytes(b.grads).equals(bytes(separate[i]!.grads)), `block at ${b.start}`).toBe(true);
        expect(b.lossSum).toBe(separate[i]!.lossSum);
      });
    },
  );
});

describe('I2: SyncBatchNorm across 3 workers equals single-process BatchNorm on the global batch', () => {
  it('outputs and input gradients of every BN layer, with a short last microbatch (85 = 10×8 + 5)', () => {
    const cfg = config({
      model: { norm: 'batch', dropout: 0.1, hidden: [12, 8] },
      batchSize: 85,
      microbatch: 8,
    });
    const batch = Int32Array.from({ length: 85 }, (_, i) => (i * 7) % data.n);
    const build = (): { m: Model; slots: ReturnType<typeof newSlot>[] } => {
      const m = Model.fromConfig(cfg.model, data.features, data.classes).reset(cfg.seed);
      const slots = microbatches(batch, 8).map((p, i) => {
        const s = newSlot(m, 8);
        fillSlot(s, data, p, i);
        return s;
      });
      return { m, slots };
    };
    const single = build();
    runPassLocally(single.m, single.slots, cfg.seed, 4);
    const sharded = build();
    runPassSharded(
      sharded.m,
      [sharded.slots.slice(0, 4), sharded.slots.slice(4, 7), sharded.slots.slice(7)],
      cfg.seed,
      4,
    );
    const bnLayers = single.m.layers.flatMap((l, i) => (l.kind === 'batchnorm' ? [i] : []));
    expect(bnLayers).toHaveLength(2);
    for (const i of bnLayers) {
      single.slots.forEach((s, k) => {
        const t = sharded.slots[k]!;
        expect(t.caches[i]!.out.subarray(0, s.rows * 12)).toEqual(s.caches[i]!.out.subarray(0, s.rows * 12));
        expect(t.caches[i]!.dx.subarray(0, s.rows * 12)).toEqual(s.caches[i]!.dx.subarray(0, s.rows * 12));
      });
    }
    // and single-process BN over the whole batch at once (one microbatch of 85) agrees to rounding
    const whole = Model.fromConfig(cfg.model, data.features, data.classes).reset(cfg.seed);
    const one = newSlot(whole, 85);
    fillSlot(one, data, batch, 0);
    runPassLocally(whole, [one], cfg.seed, 4);
    const layer = bnLayers[0]!;
    let maxDiff = 0;
    single.slots.forEach((s, k) => {
      for (let r = 0; r < s.rows * 12; r++)
        maxDiff = Math.max(maxDiff, Math.abs(s.caches[layer]!.out[r]! - one.caches[layer]!.out[k * 8 * 12 + r]!));
    });
    expect(maxDiff).toBeLessThan(1e-5);
  });
});

describe('reduction order', () => {
  it('aligned blocks tile a run with power-of-two blocks aligned to their size', () => {
    expect(alignedBlocks(3, 11)).toEqual([
      { start: 3, size: 1 },
      { start: 4, size: 4 },
      { start: 8, size: 2 },
      { start: 10, size: 1 },
    ]);
    expect(alignedBlocks(0, 8)).toEqual([{ start: 0, size: 8 }]);
  });

  it('treeReduce evaluates the fixed binary tree over indices', () => {
    const show = (n: number): string =>
      treeReduce(
        Array.from({ length: n }, (_, i) => String(i)),
        (a, b) => `(${a}+${b})`,
      );
    expect(show(1)).toBe('0');
    expect(show(3)).toBe('((0+1)+2)');
    expect(show(7)).toBe('(((0+1)+(2+3))+((4+5)+6))');
    const blocks = [
      { start: 0, size: 2, value: '(0+1)' },
      { start: 2, size: 1, value: '2' },
      { start: 3, size: 1, value: '3' },
      { start: 4, size: 2, value: '(4+5)' },
      { start: 6, size: 1, value: '6' },
    ];
    expect(treeReduce(blocks, (a, b) => `(${a}+${b})`, true)).toBe(show(7));
  });
});

describe('training through SyncBatchNorm matches finite differences of the batch loss', () => {
  it('∂(mean loss)/∂θ across 3 microbatches', () => {
    const cfg = config({
      model: { norm: 'batch', hidden: [6], activation: 'tanh' },
      batchSize: 24,
      microbatch: 8,
    });
    const t = new Trainer(cfg, data, allTrain(data.n));
    const batch = t.nextBatch();
    const g = t.gradientSum(batch).gradSum.slice(); // the trainer reuses its buffer
    const p = t.model.params;
    const h = 1e-2;
    for (let i = 0; i < p.length; i += 7) {
      const v = p[i]!;
      p[i] = v + h;
      const lp = t.gradientSum(batch).lossSum;
      p[i] = v - h;
      const lm = t.gradientSum(batch).lossSum;
      p[i] = v;
      const fd = (lp - lm) / (2 * h);
      expect(Math.abs(g[i]! - fd), `param ${i}: ${g[i]} vs ${fd}`).toBeLessThan(2e-2 * Math.abs(fd) + 5e-3);
    }
  });
});

describe('determinism and checkpoints', () => {
  const cfg = config({
    model: { norm: 'batch', dropout: 0.2 },
    optimizer: { name: 'adam', lr: 0.01 },
    batchSize: 20,
    microbatch: 8,
    epochs: 3,
  });

  it('the same config trained twice gives the same parameters and buffers', () => {
    const a = new Trainer(cfg, data, allTrain(data.n));
    const b = new Trainer(cfg, data, allTrain(data.n));
    while (!a.done) a.trainStep();
    while (!b.done) b.trainStep();
    expect(a.model.stateBytes()).toEqual(b.model.stateBytes());
    expect(a.step).toBe(15); // ⌈96/20⌉ = 5 steps per epoch × 3
  });

  it('a run stopped mid-epoch and resumed from its checkpoint ends bit-identical', () => {
    const straight = new Trainer(cfg, data, allTrain(data.n));
    while (!straight.done) straight.trainStep();

    const first = new Trainer(cfg, data, allTrain(data.n));
    for (let i = 0; i < 7; i++) first.trainStep(); // epoch 1, position 2
    const bytes = encodeCheckpoint(cfg, first.state());
    const ckpt = decodeCheckpoint(bytes, 'test.gwc');
    expect(ckpt.state.epoch).toBe(1);
    expect(ckpt.state.position).toBe(2);
    const resumed = new Trainer(ckpt.config, data, allTrain(data.n));
    resumed.restore(ckpt.state);
    while (!resumed.done) resumed.trainStep();
    expect(Buffer.from(resumed.model.stateBytes()).equals(Buffer.from(straight.model.stateBytes()))).toBe(true);
  });

  it('rejects a file that is not a checkpoint', () => {
    expect(() => decodeCheckpoint(new Uint8Array([1, 2, 3]), 'x.gwc')).toThrow(/x\.gwc: not a gradwire checkpoint/);
  });
});
