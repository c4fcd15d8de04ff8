// The spool part (`BENCH_ONLY=spool`): what predict's all-or-nothing stdout costs. The same
// pipeline (the 10,000 built-in digits as IDX, the default MLP 784-256-128-10 untrained, CSV
// output) in one process, two ways side by side, repetitions interleaved: `direct`, each chunk's
// text written straight to a sink that drops it (what stdout was before), and `spooled`, the
// text written to predict's spool (an unlinked file in os.tmpdir()) and copied to the same sink
// at the end (coordinator/model/output.ts stdoutOutput). BENCH_SPOOL_REPS (default 5); medians.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { openInput } from '../../coordinator/model/input.js';
import { loadModel } from '../../coordinator/model/model.js';
import { stdoutOutput } from '../../coordinator/model/output.js';
import { predictRows } from '../../coordinator/model/predict.js';
import { resolveModel } from '../../coordinator/model/resolve.js';
import { digitsIdx, digitsRun } from '../helpers/digits.js';
import { envNum, log, median, spread, table } from './stats.js';

export interface SpoolBench {
  rows: number;
  outputMB: number;
  direct: { seconds: number; reps: number[] };
  spooled: { seconds: number; reps: number[] };
  /** spooled seconds / direct seconds (medians) */
  ratio: number;
}

/** a stdout that drops what it gets, counting bytes */
function sink(): Writable & { bytes: number } {
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      w.bytes += chunk.length;
      cb();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

export async function runSpoolBench(): Promise<SpoolBench> {
  const reps = Math.round(envNum('BENCH_SPOOL_REPS', 5));
  const dir = mkdtempSync(join(tmpdir(), 'gradwire-bench-spool-'));
  try {
    const { run, data, pixels } = digitsRun(dir);
    const input = join(dir, 'digits.idx');
    writeFileSync(input, digitsIdx(pixels));
    const m = loadModel(resolveModel(run, { cwd: dir, env: {} }), dir);
    let bytes = 0;
    const once = async (spooled: boolean): Promise<number> => {
      const out = sink();
      const t0 = performance.now();
      if (spooled) {
        const o = stdoutOutput(dir, out);
        await predictRows(m, openInput(m, input, null), o.write, 'csv');
        await o.commit();
      } else {
        await predictRows(m, openInput(m, input, null), (s) => void out.write(s), 'csv');
      }
      bytes = out.bytes;
      return (performance.now() - t0) / 1000;
    };
    await once(false); // warm-up: the kernels' first calls
    const direct: number[] = [];
    const spooled: number[] = [];
    for (let r = 0; r < reps; r++) {
      log(`spool: repetition ${r + 1}/${reps}`);
      direct.push(await once(false));
      spooled.push(await once(true));
    }
    const d = median(direct);
    const s = median(spooled);
    return {
      rows: data.n,
      outputMB: bytes / 1e6,
      direct: { seconds: d, reps: direct },
      spooled: { seconds: s, reps: spooled },
      ratio: s / d,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printSpool(b: SpoolBench): void {
  const row = (name: string, x: { seconds: number; reps: number[] }): string[] => {
    const sp = spread(x.reps);
    return [
      name,
      `${x.seconds.toFixed(3)} (${sp.min.toFixed(3)}–${sp.max.toFixed(3)})`,
      Math.round(b.rows / x.seconds).toLocaleString('en-US'),
    ];
  };
  process.stdout.write(
    `\npredict to stdout, ${b.rows.toLocaleString('en-US')} digits, ${b.outputMB.toFixed(1)} MB of CSV (medians, min–max)\n${table(['stdout', 'seconds', 'samples/s'], [row('direct', b.direct), row('spooled (all or nothing)', b.spooled)])}\n` +
      `spooled / direct: ${b.ratio.toFixed(3)}\n`,
  );
}
