// A thread team: N compute threads (node:worker_threads) in this process over one copy of the
// dataset and one copy of the weights, both in SharedArrayBuffers. A pass splits a contiguous
// run of microbatches into contiguous shares, one per thread; at each BatchNorm layer it
// gathers the threads' partial values in microbatch order and yields them as one request (as
// trainPass does), and at the end it merges the threads' pre-reduced blocks into the maximal
// aligned blocks of the whole run in the fixed tree (reduce.ts) — so the result is the same
// bits as one thread computing the whole run, and as the in-process reference (invariant I1).
// Used by the Node worker (`gradwire worker --threads N`) and by `gradwire train` on one machine.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ModelConfig } from '../../config-types.js';
import type { Dataset } from '../../data/dataset.js';
import type { SyncReply, SyncRequest } from '../../engine/pass.js';
import { mergeBlocks, splitShares, ThreadLostError, ThreadMailbox } from '../../engine/team-split.js';
import type { ResultBlock } from '../../engine/sharded.js';
import type { KernelVariant } from '../../kernels/kernels.js';
import type { FromThread, SharedDatasetParts, ThreadFault, ThreadInit, ToThread } from './messages.js';

export type { ThreadFault } from './messages.js';

export { ThreadLostError, mergeBlocks, splitShares } from '../../engine/team-split.js';

export interface TeamOptions {
  threads: number;
  model: ModelConfig;
  variant: KernelVariant;
  data: Dataset;
  microbatch: number;
  seed: number;
  /** tests: make one thread throw or exit in its pass of one step (once) */
  fault?: ThreadFault;
  /** told when a thread is lost and replaced */
  onThreadLost?: (index: number, reason: string) => void;
  /** threads kept from earlier teams of this process: taken (and given the new job) instead
   *  of starting new ones, and given back when the team closes */
  pool?: ThreadPool;
}

/** Compute threads no team uses, kept for the next team (a sweep's trials follow each other on
 *  a worker: a thread loads the next trial's model instead of starting again). */
export class ThreadPool {
  private idle: Worker[] = [];
  private closed = false;

  take(): Worker | null {
    return this.idle.pop() ?? null;
  }

  put(thread: Worker): void {
    if (this.closed) void thread.terminate().catch(() => {});
    else this.idle.push(thread);
  }

  get size(): number {
    return this.idle.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.idle.splice(0).map((t) => t.terminate().catch(() => {})));
  }
}

/** pass numbers, unique in the process: a reused thread's late answer to an earlier team's pass
 *  never matches a pass of its new team */
let passCounter = 0;

/** What a pass of the team returns: the run's maximal aligned blocks, and per thread the
 *  microbatches it computed and its compute time (ms). */
export interface TeamOutcome {
  blocks: ResultBlock[];
  threads: Array<{ microbatches: number; computeMs: number }>;
}

const ownExt = extname(fileURLToPath(import.meta.url));
const ENTRY = new URL(`./compute-thread${ownExt}`, import.meta.url).href;

/** Start a compute thread. Run from TypeScript sources, the thread starts in boot.mjs, which
 *  registers tsx's loader first: Node 20 does not hand a --import loader on to worker threads. */
function spawnThread(init: ThreadInit): Worker {
  // a small young generation, as the worker process has (--max-semi-space-size=1): a thread's
  // JavaScript heap is small; its model and slots live in the kernels' memory
  const resourceLimits = { maxYoungGenerationSizeMb: 4 };
  if (ownExt !== '.ts') return new Worker(new URL(ENTRY), { workerData: init, resourceLimits });
  return new Worker(new URL('./boot.mjs', import.meta.url), { workerData: { ...init, entry: ENTRY }, resourceLimits });
}

function shared<T extends Float32Array | Int32Array | Uint8Array>(a: T): T {
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const copy = new Ctor(new SharedArrayBuffer(a.byteLength));
  copy.set(a as never);
  return copy;
}

/** The dataset over SharedArrayBuffers (one copy, read by every thread). */
export function shareDataset(d: Dataset): Dataset {
  const parts: SharedDatasetParts = {
    name: d.name,
    n: d.n,
    features: d.features,
    classes: d.classes,
    x: d.x.buffer instanceof SharedArrayBuffer ? d.x : shared(d.x),
    y: d.y.buffer instanceof SharedArrayBuffer ? d.y : shared(d.y),
    ...(d.xLevels ? { xLevels: d.xLevels.buffer instanceof SharedArrayBuffer ? d.xLevels : shared(d.xLevels) } : {}),
    ...(d.xTable ? { xTable: shared(d.xTable) } : {}),
  };
  return { ...d, ...parts };
}

/** One thread's end of the team: its messages in order, and whether it is alive. */
class Member {
  private readonly mailbox: ThreadMailbox<FromThread>;
  readonly ready: Promise<void>;

  private readonly onMessage: (m: FromThread) => void;
  private readonly onError: (e: Error) => void;
  private readonly onExit: (code: number) => void;

  /** `load`: a thread kept from an earlier team, to be given this team's job (it answers
   *  `ready` again); else a new thread starting with it */
  constructor(
    readonly index: number,
    readonly thread: Worker,
    load?: ThreadInit,
  ) {
    this.mailbox = new ThreadMailbox(index);
    let started: { resolve: () => void; reject: (e: Error) => void } | null = null;
    this.ready = new Promise((resolve, reject) => {
      started = { resolve, reject };
    });
    this.ready.catch(() => {});
    this.onMessage = (m: FromThread) => {
      if (m.type === 'ready') {
        started?.resolve();
        started = null;
        return;
      }
      this.mailbox.deliver(m);
    };
    this.onError = (e) => {
      started?.reject(e);
      this.fail(`threw: ${e.message}`);
    };
    this.onExit = (code) => {
      started?.reject(new Error(`thread ${index} exited with ${code} while starting`));
      this.fail(`exited with code ${code}`);
    };
    thread.on('message', this.onMessage);
    thread.on('error', this.onError);
    thread.on('exit', this.onExit);
    if (load) thread.postMessage({ type: 'load', init: load } satisfies ToThread);
  }

  /** Stop listening to the thread (it goes back to the pool). */
  detach(): Worker {
    this.thread.off('message', this.onMessage);
    this.thread.off('error', this.onError);
    this.thread.off('exit', this.onExit);
    return this.thread;
  }

  get alive(): boolean {
    return this.mailbox.alive;
  }

  private fail(reason: string): void {
    this.mailbox.fail(reason);
  }

  send(msg: ToThread): void {
    this.thread.postMessage(msg);
  }

  /** the next message of pass `pass` (older passes' messages are dropped) */
  receive(pass: number): Promise<FromThread> {
    return this.mailbox.next((m) => m.type !== 'ready' && m.pass === pass);
  }
}

export class ThreadTeam {
  private members: Member[] = [];
  private readonly params: Float32Array;
  private version = 0;
  private closed = false;

  private constructor(
    private readonly o: TeamOptions,
    readonly data: Dataset,
    paramCount: number,
  ) {
    this.params = new Float32Array(new SharedArrayBuffer(paramCount * 4));
  }

  /** Start `threads` compute threads over a shared copy of `data` and wait until each has
   *  built its model and warmed up. Use `team.data` (the shared copy) from then on. */
  static async start(o: TeamOptions, paramCount: number): Promise<ThreadTeam> {
    const team = new ThreadTeam(o, shareDataset(o.data), paramCount);
    team.members = Array.from({ length: o.threads }, (_, i) => team.spawn(i, o.fault));
    try {
      await Promise.all(team.members.map((m) => m.ready));
    } catch (e) {
      await team.close();
      throw e;
    }
    return team;
  }

  get size(): number {
    return this.members.length;
  }

  private spawn(index: number, fault?: ThreadFault): Member {
    const d = this.data;
    const init: ThreadInit = {
      index,
      model: this.o.model,
      variant: this.o.variant,
      data: {
        name: d.name,
        n: d.n,
        features: d.features,
        classes: d.classes,
        x: d.x,
        y: d.y,
        ...(d.xLevels ? { xLevels: d.xLevels } : {}),
        ...(d.xTable ? { xTable: d.xTable } : {}),
      },
      params: this.params,
      microbatch: this.o.microbatch,
      seed: this.o.seed,
      ...(fault ? { fault } : {}),
    };
    const kept = fault ? null : (this.o.pool?.take() ?? null);
    return kept ? new Member(index, kept, init) : new Member(index, spawnThread(init));
  }

  /** Replace lost threads (a thread that threw is replaced too: its state is unknown). */
  private async heal(reason: string, index: number): Promise<void> {
    this.o.onThreadLost?.(index, reason);
    const old = this.members[index]!;
    await old.thread.terminate().catch(() => {});
    const m = this.spawn(index);
    this.members[index] = m;
    await m.ready;
  }

  /** The weights for the next passes (copied into the shared buffer). */
  setParams(p: Float32Array): void {
    this.params.set(p);
    this.version++;
  }

  /**
   * A training pass over `samples` (the microbatches first, first+1, … of a step), split in
   * contiguous shares over the threads. Yields each BatchNorm round's partial values over the
   * whole run in microbatch order and expects the reduced value back; returns the run's
   * maximal aligned blocks. Throws ThreadLostError when a thread fails (after replacing it).
   */
  async *pass(
    step: number,
    seed: number,
    samples: Int32Array,
    microbatch: number,
    first: number,
    /** false: return the threads' own blocks (aligned, in order) for the caller to reduce */
    merge = true,
  ): AsyncGenerator<SyncRequest, TeamOutcome, SyncReply> {
    if (this.closed) throw new Error('the thread team is closed');
    const pass = ++passCounter;
    const count = Math.ceil(samples.length / microbatch);
    const shares = splitShares(count, this.members.length);
    const busy = shares.map((s, i) => ({ ...s, member: this.members[i]! })).filter((s) => s.count > 0);
    for (const s of busy) {
      s.member.send({
        type: 'step',
        pass,
        step,
        seed,
        version: this.version,
        first: first + s.start,
        microbatch,
        samples: samples.slice(s.start * microbatch, Math.min((s.start + s.count) * microbatch, samples.length)),
      });
    }
    for (;;) {
      let answers: FromThread[];
      try {
        answers = await Promise.all(busy.map((s) => s.member.receive(pass)));
      } catch (e) {
        await this.healLost(e as Error);
        throw e;
      }
      const failed = answers.findIndex((a) => a.type === 'failed');
      if (failed >= 0) {
        const reason = (answers[failed] as Extract<FromThread, { type: 'failed' }>).message;
        await this.heal(`threw: ${reason}`, busy[failed]!.member.index);
        throw new ThreadLostError(`thread ${busy[failed]!.member.index} threw: ${reason}`);
      }
      if (answers.every((a) => a.type === 'sync')) {
        const syncs = answers as Array<Extract<FromThread, { type: 'sync' }>>;
        const { kind, layer } = syncs[0]!;
        if (syncs.some((a) => a.kind !== kind || a.layer !== layer))
          throw new Error(`threads out of step at a BatchNorm round (${kind}@${layer})`);
        const value = yield { kind, layer, partials: syncs.flatMap((a) => a.partials) } as SyncRequest;
        // a copy of just the value (it may be a view of a larger buffer, which posting would clone whole)
        const own = value.slice();
        for (const s of busy) s.member.send({ type: 'sync-result', pass, value: own });
        continue;
      }
      if (answers.every((a) => a.type === 'done')) {
        const dones = answers as Array<Extract<FromThread, { type: 'done' }>>;
        return {
          blocks: merge
            ? mergeBlocks(
                first,
                count,
                dones.flatMap((d) => d.blocks),
              )
            : dones.flatMap((d) => d.blocks),
          threads: shares.map((s, i) => {
            const k = busy.findIndex((b) => b.member === this.members[i]);
            return { microbatches: s.count, computeMs: k >= 0 ? dones[k]!.computeMs : 0 };
          }),
        };
      }
      throw new Error('threads out of step: some finished the pass while others wait at a BatchNorm round');
    }
  }

  private async healLost(e: Error): Promise<void> {
    if (!(e instanceof ThreadLostError)) return;
    for (const m of [...this.members]) if (!m.alive) await this.heal(e.message, m.index);
  }

  /** End the team: its threads end, or go back to the pool when it has one. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.o.pool;
    await Promise.all(
      this.members.map(async (m) => {
        if (pool && m.alive) pool.put(m.detach());
        else await m.thread.terminate().catch(() => {});
      }),
    );
  }
}
