// The Node worker's thread team as a job's compute (threads ≥ 2, or a worker holding several
// jobs): shared/node/threads/team.ts over a shared copy of the dataset, behind the core's
// Compute interface (worker/core/compute.ts).
import type { RunConfig } from '../shared/config-types.js';
import type { Dataset } from '../shared/data/dataset.js';
import type { SyncReply, SyncRequest } from '../shared/engine/pass.js';
import type { ResultBlock } from '../shared/engine/sharded.js';
import { kernelVariant } from '../shared/kernels/index.js';
import { JS_KERNELS } from '../shared/kernels/js.js';
import { type ThreadFault, type ThreadPool, ThreadTeam } from '../shared/node/threads/team.js';
import { Model } from '../shared/nn/model.js';
import { type Compute, hasBatchNorm, type PassInput } from './core/compute.js';

/** threads ≥ 2: the pass runs on a thread team over a shared copy of the dataset. */
export class TeamCompute implements Compute {
  private constructor(
    private readonly team: ThreadTeam,
    private readonly config: RunConfig,
    readonly paramCount: number,
    readonly batchNorm: boolean,
    private readonly model: string,
    private readonly onClose: () => void,
  ) {}

  /** Start `threads` threads (each builds the model and warms up) over a shared copy of `data`. */
  static async start(
    config: RunConfig,
    data: Dataset,
    threads: number,
    opts: {
      fault?: ThreadFault;
      onThreadLost?: (index: number, reason: string) => void;
      pool?: ThreadPool;
      /** told when the team has closed (the worker releases its shared copy of the dataset) */
      onClose?: () => void;
    } = {},
  ): Promise<TeamCompute> {
    // the model in this thread only for its size and description: its weights are never used
    const probe = Model.fromConfig(config.model, data.features, data.classes, JS_KERNELS);
    const team = await ThreadTeam.start(
      {
        threads,
        model: config.model,
        variant: kernelVariant(),
        data,
        microbatch: Math.min(config.microbatch, config.batchSize),
        seed: config.seed,
        ...(opts.fault ? { fault: opts.fault } : {}),
        ...(opts.onThreadLost ? { onThreadLost: opts.onThreadLost } : {}),
        ...(opts.pool ? { pool: opts.pool } : {}),
      },
      probe.params.length,
    );
    return new TeamCompute(
      team,
      config,
      probe.params.length,
      hasBatchNorm(probe),
      probe.describe(),
      opts.onClose ?? (() => {}),
    );
  }

  get threads(): number {
    return this.team.size;
  }

  describe(): string {
    return this.model;
  }

  setParams(params: Float32Array): void {
    this.team.setParams(params);
  }

  async *pass(p: PassInput): AsyncGenerator<SyncRequest, ResultBlock[], SyncReply> {
    const outcome = yield* this.team.pass(p.step, this.config.seed, p.samples, p.microbatch, p.firstMicrobatch);
    return outcome.blocks;
  }

  async close(): Promise<void> {
    await this.team.close();
    this.onClose();
  }
}
