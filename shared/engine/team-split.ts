// How a team of compute threads shares a pass, for every kind of team (Node's
// node:worker_threads team in shared/node/threads/team.ts, the browser page's Web Workers): a run
// of microbatches split into contiguous shares, one per thread, and the threads' pre-reduced
// blocks merged back into the run's maximal aligned blocks in the fixed tree (reduce.ts) — the
// same bits as one thread computing the whole run (invariant I1). Pure: no threads here.
import { addInto, alignedBlocks, treeReduce } from './reduce.js';
import type { ResultBlock } from './sharded.js';

/** A thread failed (threw, or exited) during a pass: the pass is abandoned; the team has
 *  replaced the thread, and the same pass can be run again. */
export class ThreadLostError extends Error {}

/** A team's end of one thread's messages: kept in order until asked for; once the thread is
 *  lost, waiting for one rejects with ThreadLostError. */
export class ThreadMailbox<M> {
  private queue: M[] = [];
  private waiting: { resolve: (m: M) => void; reject: (e: Error) => void } | null = null;
  private lost: string | null = null;

  constructor(private readonly index: number) {}

  get alive(): boolean {
    return this.lost === null;
  }

  deliver(m: M): void {
    const w = this.waiting;
    this.waiting = null;
    if (w) w.resolve(m);
    else this.queue.push(m);
  }

  /** The thread is lost (the first reason counts). */
  fail(reason: string): void {
    if (this.lost !== null) return;
    this.lost = reason;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(new ThreadLostError(`thread ${this.index} ${reason}`));
  }

  /** the next message that `wanted` accepts (the ones before it are dropped: older passes') */
  async next(wanted: (m: M) => boolean): Promise<M> {
    for (;;) {
      const m =
        this.queue.shift() ??
        (await new Promise<M>((resolve, reject) => {
          if (this.lost !== null) reject(new ThreadLostError(`thread ${this.index} ${this.lost}`));
          else this.waiting = { resolve, reject };
        }));
      if (wanted(m)) return m;
    }
  }
}

/** Contiguous shares of `count` microbatches over `threads` threads: the first count % threads
 *  threads take one more. */
export function splitShares(count: number, threads: number): Array<{ start: number; count: number }> {
  const base = Math.floor(count / threads);
  const extra = count % threads;
  const out: Array<{ start: number; count: number }> = [];
  let start = 0;
  for (let t = 0; t < threads; t++) {
    const c = base + (t < extra ? 1 : 0);
    out.push({ start, count: c });
    start += c;
  }
  return out;
}

/** Merge aligned blocks covering first..first+count−1 (the threads' pre-reduced blocks, in
 *  any order) into the run's maximal aligned blocks, each reduced in the fixed tree. The
 *  blocks' gradient buffers are consumed. */
export function mergeBlocks(first: number, count: number, blocks: ResultBlock[]): ResultBlock[] {
  const ordered = [...blocks].sort((a, b) => a.start - b.start);
  return alignedBlocks(first, first + count).map(({ start, size }) => {
    const inside = ordered.filter((b) => b.start >= start && b.start < start + size);
    if (inside.length === 1) return inside[0]!;
    return {
      start,
      size,
      grads: treeReduce(
        inside.map((b) => ({ start: b.start, size: b.size, value: b.grads })),
        addInto,
        true,
      ),
      lossSum: treeReduce(
        inside.map((b) => ({ start: b.start, size: b.size, value: b.lossSum })),
        (a, b) => a + b,
        true,
      ),
      correct: inside.reduce((a, b) => a + b.correct, 0),
    };
  });
}
