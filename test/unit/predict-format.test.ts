// predict's numbers as bytes (coordinator/model/format.ts). A probability is p rounded to 12
// decimals with the trailing zeros dropped: the reference is JavaScript's own p.toFixed(12)
// (exact decimal rounding, ties up) with its trailing zeros cut, checked on every probability
// of the 10,000 built-in digits under the default model and on values built to sit at or next
// to a rounding tie. (Before, predict printed String(p); the new text is within 5e-13 of it.)
import { describe, expect, it } from 'vitest';
import { NUMBER_MAX_BYTES, writeProbability, writeUint } from '../../coordinator/model/format.js';
import { textPieces } from '../../coordinator/model/predict.js';
import { softmaxRows } from '../../coordinator/model/model.js';
import { loadMnist } from '../../coordinator/run/datasets.js';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import { evalSlot, newSlot } from '../../shared/engine/pass.js';
import { Trainer } from '../../shared/engine/trainer.js';
import '../../shared/node/kernels-wasm.js';
import { Rng } from '../../shared/rng.js';
import { createWasmKernels } from '../../shared/kernels/wasm.js';

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

/** probabilities at and next to rounding ties of the 12th decimal, edges, and random ones */
function tieCases(): number[] {
  const rng = new Rng(3, 'format');
  const cases = [0, 1, 0.5, 0.25, 1e-13, 4.9e-13, 5e-13, 5.1e-13, 1 - 1e-13, 1 - 6e-13, 1e-300, 0.1, 0.123456789012345];
  // q + 0.5 units of 10^-12, and the doubles on either side of it
  for (let i = 0; i < 2000; i++) {
    const half = (Math.floor(rng.uniform() * 1e12) + 0.5) / 1e12;
    cases.push(half, half * (1 + 2 ** -52), half * (1 - 2 ** -52), rng.uniform(), rng.uniform() ** 20);
  }
  return cases;
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
    const cases = tieCases();
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
    const edges = Array.from({ length: 10 }, (_, e) => [10 ** e - 1, 10 ** e, 10 ** e + 1]).flat();
    for (const n of [0, 7, 99, 123456, 1_000_000_007, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, ...edges])
      expect(buf.toString('latin1', 0, writeUint(buf, 0, n))).toBe(String(n));
  });
});

describe("kernels.formatRows (wasm-simd): predict's rows as text in WebAssembly", () => {
  const k = createWasmKernels();
  const names = ['0', 'b,"q"', 'zwölf'];
  const C = names.length;
  /** a CSV and a JSON row layout in formatRows' piece order, and the text each row should be */
  const layouts = {
    csv: {
      parts: [
        '',
        '',
        '',
        ...names.map((n, c) => (c === 1 ? ',"b,""q""",' : `,${n},`)),
        '',
        '',
        ...names.map(() => ','),
        '\n',
      ],
      row: (r: number, kk: number, ps: string[]) =>
        `${r}${kk === 1 ? ',"b,""q""",' : `,${names[kk]},`}${ps[kk]},${ps.join(',')}\n`,
    },
    json: {
      parts: [
        '\n{"row":',
        ',\n{"row":',
        ',"predicted":',
        ...names.map((n) => JSON.stringify(n)),
        ',"probability":',
        ',"probabilities":{',
        ...names.map((n, c) => `${c ? ',' : ''}${JSON.stringify(n)}:`),
        '}}',
      ],
      row: (r: number, kk: number, ps: string[]) =>
        `${r > 1 ? ',' : ''}\n{"row":${r},"predicted":${JSON.stringify(names[kk])},"probability":${ps[kk]},"probabilities":{${names.map((n, c) => `${JSON.stringify(n)}:${ps[c]}`).join(',')}}}`,
    },
  };
  function run(layout: keyof typeof layouts, probs: number[], firstRow: number) {
    const kk = k!;
    const rows = probs.length / C;
    const { text, pieces } = textPieces(kk, layouts[layout].parts);
    const p = kk.allocF64(probs.length);
    p.set(probs);
    const predicted = kk.allocInt32(rows);
    for (let r = 0; r < rows; r++) predicted[r] = (r * 7) % C;
    const out = kk.allocBytes(rows * 200 + 64);
    const n = kk.formatRows(p, predicted, rows, C, firstRow, text, pieces, out);
    const want = Array.from({ length: rows }, (_, r) =>
      layouts[layout].row(firstRow + r, predicted[r]!, probs.slice(r * C, r * C + C).map(fixed12)),
    ).join('');
    return { n, got: n < 0 ? null : Buffer.from(out.subarray(0, n)).toString('utf8'), want };
  }

  it.runIf(k)('writes the rows as the JS writer does (p.toFixed(12) without trailing zeros), CSV and JSON', () => {
    const cases = tieCases();
    const digits = Array.from(digitProbabilities().subarray(0, 3000));
    for (const probs of [cases.slice(0, cases.length - (cases.length % C)), digits]) {
      for (const layout of ['csv', 'json'] as const)
        for (const firstRow of [1, 2, 99_999, 2 ** 31 - 2, 2 ** 40]) {
          const { n, got, want } = run(layout, probs, firstRow);
          expect(n, `${layout} from row ${firstRow}`).toBe(Buffer.byteLength(want));
          expect(got, `${layout} from row ${firstRow}`).toBe(want);
        }
    }
  });

  it.runIf(k)('writes nothing (−1) for a chunk holding a probability outside [0, 1]: the JS writer writes it', () => {
    for (const bad of [Number.NaN, 1.5, -1e-300]) expect(run('csv', [0.5, 0.25, bad, 0.1, 0.2, 0.7], 1).n).toBe(-1);
  });
});
