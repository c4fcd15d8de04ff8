// The thread team (shared/node/threads/team.ts): real node:worker_threads over a shared copy of
// the dataset and weights. A batch's gradient computed by 1, 2 or 3 threads — each a
// contiguous share of the microbatches, pre-reduced in the thread and merged in the fixed tree
// — is the same bits as the single-threaded trainer's (invariant I1), BatchNorm rounds and
// dropout included; a thread that throws or exits mid-pass is replaced and the pass, run
// again, gives the same bits.
import { afterAll, describe, expect, it } from 'vitest';
import { reduceSync, Trainer } from '../../shared/engine/trainer.js';
import { addInto, treeReduce } from '../../shared/engine/reduce.js';
import { kernelVariant } from '../../shared/kernels/index.js';
import '../../shared/node/kernels-wasm.js';
import {
  mergeBlocks,
  splitShares,
  ThreadLostError,
  ThreadPool,
  ThreadTeam,
  type ThreadFault,
} from '../../shared/node/threads/team.js';
import { allTrain, config, toyData } from '../helpers/fixtures.js';

const data = toyData(96, 10, 3);
const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const teams: ThreadTeam[] = [];
afterAll(async () => {
  await Promise.all(teams.map((t) => t.close()));
});

async function teamGradient(team: ThreadTeam, trainer: Trainer, batch: Int32Array) {
  const cfg = trainer.cfg;
  team.setParams(trainer.model.params);
  const g = team.pass(trainer.step, cfg.seed, batch, cfg.microbatch, 0);
  let r = await g.next();
  while (!r.done) r = await g.next(reduceSync(r.value));
  const blocks = r.value.blocks;
  return {
    gradSum: treeReduce(
      blocks.map((b) => ({ start: b.start, size: b.size, value: b.grads })),
      addInto,
      true,
    ),
    lossSum: treeReduce(
      blocks.map((b) => ({ start: b.start, size: b.size, value: b.lossSum })),
      (a, b) => a + b,
      true,
    ),
    correct: blocks.reduce((a, b) => a + b.correct, 0),
    threads: r.value.threads,
  };
}

async function startTeam(
  cfg: ReturnType<typeof config>,
  threads: number,
  trainer: Trainer,
  fault?: ThreadFault,
  pool?: ThreadPool,
) {
  const team = await ThreadTeam.start(
    {
      threads,
      model: cfg.model,
      variant: kernelVariant(),
      data,
      microbatch: cfg.microbatch,
      seed: cfg.seed,
      ...(fault ? { fault } : {}),
      ...(pool ? { pool } : {}),
    },
    trainer.model.paramCount,
  );
  teams.push(team);
  return team;
}

describe('splitShares and mergeBlocks', () => {
  it('splits 11 microbatches over 3 threads as 4, 4, 3 and over 4 as 3, 3, 3, 2', () => {
    expect(splitShares(11, 3)).toEqual([
      { start: 0, count: 4 },
      { start: 4, count: 4 },
      { start: 8, count: 3 },
    ]);
    expect(splitShares(11, 4).map((s) => s.count)).toEqual([3, 3, 3, 2]);
    expect(splitShares(1, 3).map((s) => s.count)).toEqual([1, 0, 0]);
  });

  it('merges blocks 0..3 (size 4), 4..5, 6 of one thread and 7 of another into the aligned block 0..7', () => {
    const b = (start: number, size: number, v: number) => ({
      start,
      size,
      grads: new Float32Array([v]),
      lossSum: v,
      correct: 1,
    });
    const merged = mergeBlocks(0, 8, [b(7, 1, 8), b(0, 4, 1), b(4, 2, 2), b(6, 1, 4)]);
    expect(merged).toHaveLength(1);
    expect(merged[0]!.start).toBe(0);
    expect(merged[0]!.size).toBe(8);
    // the fixed tree: (0..3) + ((4..5) + (6 + 7)) = 1 + (2 + (4 + 8))
    expect(merged[0]!.grads[0]).toBe(15);
    expect(merged[0]!.correct).toBe(4);
  });
});

describe.each([
  ['no normalization, dropout 0.2', { dropout: 0.2 }],
  ['batch norm + dropout 0.3', { norm: 'batch' as const, dropout: 0.3 }],
  ['layer norm', { norm: 'layer' as const }],
])('%s: threads give the trainer’s bits', (_name, model) => {
  const cfg = config({ model, batchSize: 88, microbatch: 8 }); // 11 microbatches, the last of 8
  it.each([1, 2, 3])(
    '%i thread(s), two steps',
    async (threads) => {
      const trainer = new Trainer(cfg, data, allTrain(data.n));
      const team = await startTeam(cfg, threads, trainer);
      for (let step = 0; step < 2; step++) {
        const batch = trainer.nextBatch();
        const want = trainer.gradientSum(batch);
        const wantGrad = want.gradSum.slice();
        const got = await teamGradient(team, trainer, batch);
        expect(bytes(got.gradSum).equals(bytes(wantGrad))).toBe(true);
        expect(got.lossSum).toBe(want.lossSum);
        expect(got.correct).toBe(want.correct);
        // 96 samples: a batch of 88 (11 microbatches), then one of 8 (1 microbatch)
        const count = Math.ceil(batch.length / 8);
        expect(got.threads.map((t) => t.microbatches)).toEqual(splitShares(count, threads).map((s) => s.count));
        trainer.trainStep(); // changes the weights (and the step) for the next round
      }
    },
    30_000,
  );
});

describe('a thread that fails mid-pass', () => {
  it.each(['throw', 'exit'] as const)(
    '%s: the pass fails with ThreadLostError; run again it gives the same bits',
    async (kind) => {
      const cfg = config({ model: { norm: 'batch' as const, dropout: 0.2 }, batchSize: 88, microbatch: 8 });
      const trainer = new Trainer(cfg, data, allTrain(data.n));
      const team = await startTeam(cfg, 2, trainer, { thread: 1, step: 0, kind });
      const batch = trainer.nextBatch();
      const want = trainer.gradientSum(batch).gradSum.slice();
      await expect(teamGradient(team, trainer, batch)).rejects.toBeInstanceOf(ThreadLostError);
      const got = await teamGradient(team, trainer, batch);
      expect(bytes(got.gradSum).equals(bytes(want))).toBe(true);
    },
    30_000,
  );
});

describe('threads kept for the next team (a sweep trial after another)', () => {
  it('a closed team gives its threads to the pool; the next team takes them for another model and gives its trainer’s bits', async () => {
    const pool = new ThreadPool();
    const first = config({ model: { norm: 'batch' as const, dropout: 0.2 }, batchSize: 88, microbatch: 8 });
    const t1 = new Trainer(first, data, allTrain(data.n));
    const a = await startTeam(first, 2, t1, undefined, pool);
    const b1 = t1.nextBatch();
    const w1 = t1.gradientSum(b1).gradSum.slice();
    expect(bytes((await teamGradient(a, t1, b1)).gradSum).equals(bytes(w1))).toBe(true);
    await a.close();
    expect(pool.size).toBe(2);

    // another model (other sizes, no BatchNorm, other seed) on the same two threads
    const second = config({ model: { hidden: [5], dropout: 0.3 }, batchSize: 40, microbatch: 8, seed: 9 });
    const t2 = new Trainer(second, data, allTrain(data.n));
    const b = await startTeam(second, 2, t2, undefined, pool);
    expect(pool.size).toBe(0);
    for (let step = 0; step < 2; step++) {
      const batch = t2.nextBatch();
      const want = t2.gradientSum(batch);
      const wantGrad = want.gradSum.slice();
      const got = await teamGradient(b, t2, batch);
      expect(bytes(got.gradSum).equals(bytes(wantGrad))).toBe(true);
      expect(got.lossSum).toBe(want.lossSum);
      t2.trainStep();
    }
    await b.close();
    expect(pool.size).toBe(2);
    await pool.close();
    expect(pool.size).toBe(0);
  }, 30_000);
});
