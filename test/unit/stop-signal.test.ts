// The run loop waits for each step or a stop (SIGTERM), whichever comes first. The wait must
// leave nothing behind once the step is done: the step's result (the gradient) has to become
// garbage, or a long run keeps every gradient it ever computed (issue 12's leak).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { StopSignal } from '../../coordinator/run/run-loop.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Count how many of `refs` still point at a live object after full collections. */
async function alive(refs: Array<WeakRef<object>>): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 0)); // WeakRefs are kept for the current job
    gc();
  }
  return refs.filter((r) => r.deref() !== undefined).length;
}

const step = (i: number): Promise<{ gradSum: Float32Array }> =>
  new Promise((resolve) => setImmediate(() => resolve({ gradSum: new Float32Array(1024).fill(i) })));

describe('StopSignal', () => {
  it('gives the step its value, and null once stopped', async () => {
    const s = new StopSignal();
    expect((await s.race(step(7)))!.gradSum[0]).toBe(7);
    const slow = new Promise<number>((r) => setTimeout(() => r(1), 50));
    const raced = s.race(slow);
    s.stop();
    expect(await raced).toBeNull();
    expect(await s.race(step(1))).toBeNull();
    expect(s.stopped).toBe(true);
  });

  it('passes a failed step on', async () => {
    const s = new StopSignal();
    await expect(s.race(Promise.reject(new Error('worker failed')))).rejects.toThrow('worker failed');
    expect(s.waiting).toBe(0);
  });

  it('keeps no listener and no result after a step, over many steps', async () => {
    const s = new StopSignal();
    const refs: Array<WeakRef<object>> = [];
    for (let i = 0; i < 200; i++) {
      const g = await s.race(step(i));
      refs.push(new WeakRef(g!));
      expect(s.waiting).toBe(0);
    }
    expect(await alive(refs)).toBeLessThanOrEqual(1);
  });

  it('(the reason) racing against a promise that never settles keeps every result', async () => {
    const never = new Promise<null>(() => {});
    const refs: Array<WeakRef<object>> = [];
    for (let i = 0; i < 200; i++) refs.push(new WeakRef((await Promise.race([step(i), never]))!));
    expect(await alive(refs)).toBe(200);
  });
});
