// The worker core's in-thread compute (worker/core/compute.ts): a pass returns its gradient blocks
// copied out of the slots, or — for a platform whose socket copies what it sends (a browser's
// WebSocket) — as views of the slots, valid until the next pass. Either way the same bits.
import { describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../shared/config.js';
import { iris } from '../../shared/data/iris.js';
import '../../shared/node/kernels-wasm.js';
import type { ResultBlock } from '../../shared/engine/sharded.js';
import { InProcessCompute, type PassInput } from '../../worker/core/compute.js';

const config = parseRunConfig({ batchSize: 32, microbatch: 8, seed: 7 });
const data = iris();
const weights = new InProcessCompute(config, data).paramCount;

async function run(c: InProcessCompute, p: PassInput): Promise<ResultBlock[]> {
  const gen = c.pass(p);
  const r = await gen.next();
  if (!r.done) throw new Error('a model without BatchNorm has no sync round');
  return r.value;
}

const input = (first: number): PassInput => ({
  step: 0,
  samples: Int32Array.from({ length: 32 }, (_, i) => (first + i * 3) % data.n),
  microbatch: 8,
  firstMicrobatch: 0,
});

const bits = (b: ResultBlock[]): number[][] => b.map((x) => [...new Uint32Array(x.grads.slice().buffer)]);

describe('InProcessCompute results', () => {
  it('views of the slots give the bits of copies; the next pass overwrites the views, never the copies', async () => {
    const copying = new InProcessCompute(config, data);
    const viewing = new InProcessCompute(config, data, false);
    const params = Float32Array.from({ length: weights }, (_, i) => Math.sin(i) / 4);
    copying.setParams(params);
    viewing.setParams(params);
    const copied = await run(copying, input(0));
    const viewed = await run(viewing, input(0));
    expect(bits(viewed)).toEqual(bits(copied));
    const before = bits(copied);
    const seen = bits(viewed);
    await run(copying, input(1));
    await run(viewing, input(1));
    expect(bits(copied)).toEqual(before);
    expect(bits(viewed)).not.toEqual(seen);
  });
});
