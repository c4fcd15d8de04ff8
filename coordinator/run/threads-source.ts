// The gradient of `gradwire train` on one machine: the compute threads of this process (a
// thread team over one shared copy of the dataset and the weights), no sockets and no
// serialization. Each step's microbatches are split in contiguous shares over the threads,
// BatchNorm rounds are reduced here in microbatch order, and the threads' pre-reduced blocks
// are merged in the fixed tree — the same bits as `--in-process` (invariant I1). A thread lost
// mid-step is replaced and the step's gradient computed again.
import type { Logger } from 'pino';
import type { RunConfig } from '../../shared/config-types.js';
import type { Dataset } from '../../shared/data/dataset.js';
import { addIntoWith, treeReduce } from '../../shared/engine/reduce.js';
import type { ResultBlock } from '../../shared/engine/sharded.js';
import { reduceSync, type Trainer } from '../../shared/engine/trainer.js';
import { kernelVariant } from '../../shared/kernels/index.js';
import { JS_KERNELS } from '../../shared/kernels/js.js';
import { Model } from '../../shared/nn/model.js';
import { parseThreadFault } from '../../shared/node/threads/fault.js';
import { ThreadLostError, type ThreadPool, ThreadTeam } from '../../shared/node/threads/team.js';
import type { GradientSource, StepGradient } from './run-loop.js';

/** a step is tried this many times when threads are lost before the run fails */
const MAX_ATTEMPTS = 3;

export class ThreadSource implements GradientSource {
  readonly mode = 'threads' as const;
  readonly kernel = kernelVariant();

  private constructor(
    private readonly team: ThreadTeam,
    private readonly cfg: RunConfig,
    private readonly log: Logger,
  ) {}

  /** Start `threads` compute threads for `cfg` over a shared copy of `data` (no copy when it
   *  is shared already); train on `source.data` (that copy) from then on. With `pool`, threads
   *  kept from earlier runs (a sweep's trials) are taken first and given back by close(). */
  static async start(
    cfg: RunConfig,
    data: Dataset,
    threads: number,
    log: Logger,
    opts: { pool?: ThreadPool } = {},
  ): Promise<ThreadSource> {
    const fault = parseThreadFault(process.env.GRADWIRE_TEST_THREAD_FAULT);
    const paramCount = Model.fromConfig(cfg.model, data.features, data.classes, JS_KERNELS).paramCount;
    const team = await ThreadTeam.start(
      {
        threads,
        model: cfg.model,
        variant: kernelVariant(),
        data,
        microbatch: Math.min(cfg.microbatch, cfg.batchSize),
        seed: cfg.seed,
        // a test hook: GRADWIRE_TEST_THREAD_FAULT=throw|exit:THREAD:STEP (shared/node/threads/fault.ts)
        ...(fault && fault.kind !== 'late'
          ? { fault: { kind: fault.kind, thread: fault.thread, step: fault.step } }
          : {}),
        onThreadLost: (index, reason) =>
          log.warn({ event: 'thread-lost', thread: index, reason }, `compute thread ${index} ${reason}: replaced`),
        ...(opts.pool ? { pool: opts.pool } : {}),
      },
      paramCount,
    );
    return new ThreadSource(team, cfg, log);
  }

  get data(): Dataset {
    return this.team.data;
  }

  get threads(): number {
    return this.team.size;
  }

  workers(): number {
    return 0;
  }

  async gradient(trainer: Trainer, batch: Int32Array): Promise<StepGradient> {
    this.team.setParams(trainer.model.params);
    const microbatch = Math.min(this.cfg.microbatch, this.cfg.batchSize);
    for (let attempt = 1; ; attempt++) {
      try {
        const bnStats = new Map<number, Float64Array>();
        // the threads' own blocks, reduced here in the trainer's kernels (SIMD) in the fixed tree
        const pass = this.team.pass(trainer.step, this.cfg.seed, batch, microbatch, 0, false);
        let r = await pass.next();
        while (!r.done) {
          const reply = reduceSync(r.value);
          if (r.value.kind === 'bn-forward') bnStats.set(r.value.layer, reply);
          r = await pass.next(reply);
        }
        const { blocks, threads } = r.value;
        return {
          gradSum: this.reduceInKernels(trainer, blocks),
          lossSum: treeReduce(
            blocks.map((b) => ({ start: b.start, size: b.size, value: b.lossSum })),
            (a, b) => a + b,
            true,
          ),
          correct: blocks.reduce((a, b) => a + b.correct, 0),
          bnStats,
          info: { threads: threads.map((t) => Math.round(t.computeMs * 100) / 100) },
        };
      } catch (e) {
        if (!(e instanceof ThreadLostError) || attempt >= MAX_ATTEMPTS) throw e;
        this.log.warn(
          { event: 'step-retry', step: trainer.step, attempt, reason: e.message },
          `step ${trainer.step}: ${e.message}; computing it again`,
        );
      }
    }
  }

  /** kernel buffers the blocks' gradients are copied into (one per block, kept for the run) */
  private scratch: Float32Array[] = [];

  /** The blocks' gradient sum in the fixed tree, computed in the trainer's kernels: the result
   *  is in their memory, so the trainer uses it without another copy. Bit-identical to reduce.ts
   *  addInto (float32 adds in the same order). */
  private reduceInKernels(trainer: Trainer, blocks: ResultBlock[]): Float32Array {
    const k = trainer.model.k;
    while (this.scratch.length < blocks.length) this.scratch.push(k.alloc(trainer.model.paramCount));
    return treeReduce(
      blocks.map((b, i) => {
        const buf = this.scratch[i]!;
        buf.set(b.grads);
        return { start: b.start, size: b.size, value: buf };
      }),
      addIntoWith(k),
      true,
    );
  }

  close(): Promise<void> {
    return this.team.close();
  }
}
