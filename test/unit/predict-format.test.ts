// predict's numbers as bytes (coordinator/model/format.ts). A probability is p rounded to 12
// decimals with the trailing zeros dropped: the reference is JavaScript's own p.toFixed(12)
// (exact decimal rounding, ties up) with its trailing zeros cut, checked on every probability
// of the 10,000 built-in digits under the default model and on values built to sit at or next
// to a rounding tie. (Before, predict printed String(p); the new text is within 5e-13 of it.)
import { describe, expect, it } from 'vitest';
import { NUMBER_MAX_BYTES, writeProbability, writeUint } from '../../coordinator/model/format.js';
import { softmaxRows } from '../../coordinator/model/model.js';
import { loadMnist } from '../../coordinator/run/datasets.js';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import { evalSlot, newSlot } from '../../shared/engine/pass.js';
import { Trainer } from '../../shared/engine/trainer.js';
import '../../shared/node/kernels-wasm.js';
import { Rng } from '../../shared/rng.js';

const buf = Buffer.alloc(64);
const text = (p: number): string => buf.toString('latin1', 0, writeProbability(buf, 0, p));
const fixed12 = (p: number): string => p.toFixed(12).replace(/\.?0+$/, '');

/** the default model's probabilities for all 10,000 digits */
function digitProbabilities(): Float64Array {
  const data = loadMnist();
  const cfg = { ...DEFAULT_RUN_CONFIG, data: { ...DEFAULT_RUN_CONFIG.data, name: 'mnist' as const } };
  const model = new Trainer(cfg, data).model;
  const slot = newSlot(model, 500);
  const probs = new Float64Array(data.n * 10);
  const predicted = new Int32Array(data.n);
  for (let s = 0; s < data.n; s += 500) {
    slot.x.set(data.x.subarray(s * 784, (s + 500) * 784));
    slot.rows = 500;
    evalSlot(model, slot);
    softmaxRows(slot.caches[model.layers.length - 1]!.out, 500, 10, probs, predicted, s);
  }
  return probs;
}

describe('writeProbability', () => {
  it('writes p.toFixed(12) without trailing zeros for every probability of the 10,000 digits', () => {
    const probs = digitProbabilities();
    let differ = 0;
    for (const p of probs) {
      const t = text(p);
      if (t !== fixed12(p)) differ++;
      expect(Math.abs(Number(t) - Number(String(p)))).toBeLessThanOrEqual(5e-13);
    }
    expect(differ).toBe(0);
  });

  it('rounds exactly at and next to ties, and writes 0, 1 and the edges briefly', () => {
    const rng = new Rng(3, 'format');
    const cases = [
      0,
      1,
      0.5,
      0.25,
      1e-13,
      4.9e-13,
      5e-13,
      5.1e-13,
      1 - 1e-13,
      1 - 6e-13,
      1e-300,
      0.1,
      0.123456789012345,
    ];
    // q + 0.5 units of 10^-12, and the doubles on either side of it
    for (let i = 0; i < 2000; i++) {
      const half = (Math.floor(rng.uniform() * 1e12) + 0.5) / 1e12;
      cases.push(half, half * (1 + 2 ** -52), half * (1 - 2 ** -52), rng.uniform(), rng.uniform() ** 20);
    }
    for (const p of cases) expect(text(p), String(p)).toBe(fixed12(p));
    expect([text(0), text(1), text(0.5), text(1e-300), text(1 - 1e-13)]).toEqual(['0', '1', '0.5', '0', '1']);
  });

  it('writes anything outside [0, 1] as String(p), within NUMBER_MAX_BYTES', () => {
    for (const p of [Number.NaN, -1e-300, 1.5, -Number.MAX_VALUE, Number.NEGATIVE_INFINITY]) {
      expect(text(p)).toBe(String(p));
      expect(String(p).length).toBeLessThanOrEqual(NUMBER_MAX_BYTES);
    }
  });
});

describe('writeUint', () => {
  it('writes the decimal digits of integers', () => {
    for (const n of [0, 7, 10, 99, 100, 123456, 1_000_000_007, 2 ** 53 - 1])
      expect(buf.toString('latin1', 0, writeUint(buf, 0, n))).toBe(String(n));
  });
});
