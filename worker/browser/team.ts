// The page's compute threads (#threads=N in the join link): N dedicated Web Workers, each
// running the core's InProcessCompute over its own kernels instance and its own copy of the
// dataset, driven like the Node worker's thread team (shared/node/threads/team.ts) with the same
// shared split and merge (shared/engine/team-split.ts): a run of microbatches cut into
// contiguous shares, each BatchNorm round's partials gathered in microbatch order, and the
// threads' pre-reduced blocks merged in the fixed tree — the same bits as one thread (I1).
// Web Workers without cross-origin isolation have no SharedArrayBuffer, so the weights travel
// to each thread by postMessage (once per step), the gradients back as transferred buffers.
import type { RunConfig } from '../../shared/config-types.js';
import type { Dataset } from '../../shared/data/dataset.js';
import type { SyncReply, SyncRequest } from '../../shared/engine/pass.js';
import type { ResultBlock } from '../../shared/engine/sharded.js';
import { mergeBlocks, splitShares, ThreadMailbox } from '../../shared/engine/team-split.js';
import { JS_KERNELS } from '../../shared/kernels/js.js';
import { setWasmKernelsFile } from '../../shared/kernels/wasm.js';
import { Model } from '../../shared/nn/model.js';
import { type Compute, hasBatchNorm, InProcessCompute, type PassInput } from '../core/compute.js';

/** kernels.wasm as the agent fetched it: each thread compiles the same bytes */
export interface KernelsFile {
  bytes: Uint8Array<ArrayBuffer>;
  sha256: string;
}

export type ToThread =
  | { type: 'thread-init'; index: number; kernels: KernelsFile; config: RunConfig; data: Dataset }
  | {
      type: 'step';
      pass: number;
      step: number;
      /** the weights, when they changed since this thread's last step */
      params?: Float32Array;
      first: number;
      microbatch: number;
      samples: Int32Array;
    }
  | { type: 'sync-result'; pass: number; value: Float64Array };

export type FromThread =
  | { type: 'ready'; paramCount: number }
  | ({ type: 'sync'; pass: number } & SyncRequest)
  | { type: 'done'; pass: number; blocks: ResultBlock[] }
  | { type: 'failed'; pass: number; message: string };

/** What the team uses of a Web Worker (or of a test's stand-in). */
export interface ThreadPort {
  postMessage(m: ToThread, transfer?: Transferable[]): void;
  onmessage: ((ev: { data: FromThread }) => void) | null;
  onerror: ((ev: { message?: string }) => void) | null;
  terminate(): void;
}

/** One thread's end of the team: its messages in order. */
class Member {
  readonly mailbox: ThreadMailbox<FromThread>;
  /** the weights' version this thread holds */
  version = -1;

  constructor(
    readonly index: number,
    readonly port: ThreadPort,
  ) {
    const mailbox = new ThreadMailbox<FromThread>(index);
    this.mailbox = mailbox;
    port.onmessage = (ev) => mailbox.deliver(ev.data);
    port.onerror = (ev) => mailbox.fail(`failed: ${ev.message ?? 'a script error'}`);
  }

  /** the next message (of pass `pass`, when given: older passes' messages are dropped) */
  receive(pass?: number): Promise<FromThread> {
    return this.mailbox.next((m) => pass === undefined || (m.type !== 'ready' && m.pass === pass));
  }
}

export class BrowserTeamCompute implements Compute {
  private passes = 0;
  private version = 0;
  private params: Float32Array | null = null;

  private constructor(
    private readonly members: Member[],
    readonly paramCount: number,
    readonly batchNorm: boolean,
    private readonly model: string,
  ) {}

  /** Start `threads` threads (`spawn` makes one), each building the model over its own copy of
   *  `data` and warming up. */
  static async start(
    config: RunConfig,
    data: Dataset,
    threads: number,
    kernels: KernelsFile,
    spawn: () => ThreadPort,
  ): Promise<BrowserTeamCompute> {
    // the model in this thread only for its size, BatchNorm and description; it computes nothing
    const probe = Model.fromConfig(config.model, data.features, data.classes, JS_KERNELS);
    const members = Array.from({ length: threads }, (_, i) => new Member(i, spawn()));
    try {
      for (const m of members) m.port.postMessage({ type: 'thread-init', index: m.index, kernels, config, data });
      const answers = await Promise.all(members.map((m) => m.receive()));
      const bad = answers.find((a) => a.type !== 'ready');
      if (bad) throw new Error(`a compute thread could not start: ${bad.type === 'failed' ? bad.message : bad.type}`);
    } catch (e) {
      for (const m of members) m.port.terminate();
      throw e;
    }
    return new BrowserTeamCompute(members, probe.params.length, hasBatchNorm(probe), probe.describe());
  }

  get threads(): number {
    return this.members.length;
  }

  describe(): string {
    return this.model;
  }

  setParams(params: Float32Array): void {
    this.params = params;
    this.version++;
  }

  async *pass(p: PassInput): AsyncGenerator<SyncRequest, ResultBlock[], SyncReply> {
    const pass = ++this.passes;
    const count = Math.ceil(p.samples.length / p.microbatch);
    const shares = splitShares(count, this.members.length);
    const busy = shares.map((s, i) => ({ ...s, member: this.members[i]! })).filter((s) => s.count > 0);
    for (const s of busy) {
      const fresh = s.member.version !== this.version;
      s.member.version = this.version;
      s.member.port.postMessage({
        type: 'step',
        pass,
        step: p.step,
        ...(fresh && this.params ? { params: this.params } : {}),
        first: p.firstMicrobatch + s.start,
        microbatch: p.microbatch,
        samples: p.samples.slice(
          s.start * p.microbatch,
          Math.min((s.start + s.count) * p.microbatch, p.samples.length),
        ),
      });
    }
    for (;;) {
      const answers = await Promise.all(busy.map((s) => s.member.receive(pass)));
      const failed = answers.find((a) => a.type === 'failed');
      if (failed?.type === 'failed') throw new Error(`a compute thread failed: ${failed.message}`);
      if (answers.every((a) => a.type === 'sync')) {
        const { kind, layer } = answers[0]!;
        if (answers.some((a) => a.kind !== kind || a.layer !== layer))
          throw new Error(`threads out of step at a BatchNorm round (${kind}@${layer})`);
        const partials = answers.flatMap((a) => a.partials);
        const value = yield { kind, layer, partials } as SyncRequest;
        const own = value.slice();
        for (const s of busy) s.member.port.postMessage({ type: 'sync-result', pass, value: own });
        continue;
      }
      if (answers.every((a) => a.type === 'done'))
        return mergeBlocks(
          p.firstMicrobatch,
          count,
          answers.flatMap((a) => a.blocks),
        );
      throw new Error('threads out of step: some finished the pass while others wait at a BatchNorm round');
    }
  }

  async close(): Promise<void> {
    for (const m of this.members) m.port.terminate();
  }
}

/** The thread's side: answers the team's messages on `scope` (a Web Worker's self) with an
 *  InProcessCompute over its own kernels instance. Call it with the `thread-init` message. */
export function runComputeThread(
  scope: {
    postMessage(m: FromThread, transfer?: Transferable[]): void;
    onmessage: ((ev: { data: ToThread }) => void) | null;
  },
  init: Extract<ToThread, { type: 'thread-init' }>,
): void {
  const post = (m: FromThread, transfer: Transferable[] = []): void => scope.postMessage(m, transfer);
  let compute: InProcessCompute;
  try {
    setWasmKernelsFile(() => ({ ...init.kernels, name: 'kernels.wasm' }));
    compute = new InProcessCompute(init.config, init.data);
  } catch (e) {
    post({ type: 'failed', pass: 0, message: (e as Error).message });
    return;
  }
  let current: { pass: number; gen: AsyncGenerator<SyncRequest, ResultBlock[], SyncReply> } | null = null;
  const advance = async (pass: number, next: Promise<IteratorResult<SyncRequest, ResultBlock[]>>): Promise<void> => {
    try {
      const r = await next;
      if (current?.pass !== pass) return; // abandoned meanwhile
      if (!r.done) {
        // copied out: a partial may be a view of the kernels' memory, which posting would clone whole
        const partials = (r.value.partials as Float64Array[]).map((q) => q.slice());
        post({ type: 'sync', pass, kind: r.value.kind, layer: r.value.layer, partials } as FromThread);
        return;
      }
      current = null;
      post(
        { type: 'done', pass, blocks: r.value },
        r.value.map((b) => b.grads.buffer),
      );
    } catch (e) {
      current = null;
      post({ type: 'failed', pass, message: (e as Error).message });
    }
  };
  scope.onmessage = (ev) => {
    const m = ev.data;
    if (m.type === 'step') {
      if (m.params) compute.setParams(m.params);
      current = {
        pass: m.pass,
        gen: compute.pass({ step: m.step, samples: m.samples, microbatch: m.microbatch, firstMicrobatch: m.first }),
      };
      void advance(m.pass, current.gen.next());
    } else if (m.type === 'sync-result' && current?.pass === m.pass) {
      void advance(m.pass, current.gen.next(m.value));
    }
  };
  post({ type: 'ready', paramCount: compute.paramCount });
}
