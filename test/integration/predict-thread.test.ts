// gradwire predict's helper thread (coordinator/model/first-layer-thread.ts): a real
// worker_thread computes the first layer of blocks of rows while the main thread does the rest.
// The output must be the same bytes as the main thread alone gives, whichever blocks the thread
// took: on the 10,000 built-in digits as an IDX file (pixels) and as a CSV file (floats), when
// the thread is closed in the middle of the input (its blocks are then computed by the main
// thread), and through the CLI (--threads 2 against --threads 1).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FirstLayerThread } from '../../coordinator/model/first-layer-thread.js';
import { openInput } from '../../coordinator/model/input.js';
import { loadModel } from '../../coordinator/model/model.js';
import { predictRows, type PredictResult } from '../../coordinator/model/predict.js';
import { resolveModel } from '../../coordinator/model/resolve.js';
import { loadMnist } from '../../coordinator/run/datasets.js';
import { gradwire, tempDir } from '../helpers/cli.js';
import { digitsIdx, digitsRun } from '../helpers/digits.js';

const data = loadMnist();
let dir: string;
let run: string;
let pixels: Uint8Array;
const ROWS = data.n; // 10,000

beforeAll(() => {
  dir = tempDir('gradwire-predict-thread-');
  ({ run, pixels } = digitsRun(dir));
  writeFileSync(join(dir, 'digits.idx'), digitsIdx(pixels));
  // three times over: 30,000 rows, an input the CLI gives the thread (THREAD_MIN_ROWS)
  writeFileSync(join(dir, 'digits3.idx'), digitsIdx(pixels, 3));
  // the first 2,000 as CSV: pixel / 255 written as the shortest text of its float32
  const lines = [Array.from({ length: data.features }, (_, f) => `p${f}`).join(',')];
  for (let r = 0; r < 2000; r++) {
    const row: string[] = [];
    for (let f = 0; f < data.features; f++) row.push(String(Math.fround(pixels[r * data.features + f]! / 255)));
    lines.push(row.join(','));
  }
  writeFileSync(join(dir, 'digits.csv'), `${lines.join('\n')}\n`);
});

/** predict `input` with the model in run/ (and the thread, when given): the output's sha256 */
async function predictSha(
  input: string,
  thread: FirstLayerThread | null,
  onBytes?: (total: number) => void,
): Promise<{ sha: string; result: PredictResult }> {
  const m = loadModel(resolveModel(run, { cwd: dir, env: {} }), dir);
  const hash = createHash('sha256');
  let total = 0;
  const result = await predictRows(
    m,
    openInput(m, join(dir, input), null),
    (b) => {
      hash.update(b);
      total += b.length;
      onBytes?.(total);
    },
    'csv',
    // the thread from the first row (by default only from THREAD_MIN_ROWS on)
    { thread, threadMinRows: 0 },
  );
  return { sha: hash.digest('hex'), result };
}

describe("predict's helper thread", () => {
  it('on the 10,000 digits as IDX pixels: the same bytes as the main thread alone, the thread computing blocks', async () => {
    const alone = await predictSha('digits.idx', null);
    expect(alone.result.rows).toBe(ROWS);
    expect(alone.result.threadRows).toBe(0);
    const thread = FirstLayerThread.start()!;
    await thread.ready();
    const both = await predictSha('digits.idx', thread);
    await thread.close();
    expect(both.sha).toBe(alone.sha);
    expect(both.result.sparseRows).toBe(ROWS);
    // how the blocks were shared depends on timing; that the thread took some does not
    expect(both.result.threadRows).toBeGreaterThan(0);
    expect(both.result.threadRows).toBeLessThanOrEqual(ROWS);
  });

  it('on CSV rows (floats): the same bytes', async () => {
    const alone = await predictSha('digits.csv', null);
    const thread = FirstLayerThread.start()!;
    await thread.ready();
    const both = await predictSha('digits.csv', thread);
    await thread.close();
    expect(both.result.rows).toBe(2000);
    expect(both.result.threadRows).toBeGreaterThan(0);
    expect(both.sha).toBe(alone.sha);
  });

  it('the thread closed in the middle of the input: its blocks are computed here, the same bytes', async () => {
    const alone = await predictSha('digits.idx', null);
    const thread = FirstLayerThread.start()!;
    await thread.ready();
    let closing: Promise<void> | null = null;
    const both = await predictSha('digits.idx', thread, (total) => {
      // a third of the way (the output is ~1.7 MB): the blocks at the thread are lost
      if (!closing && total > 600_000) closing = thread.close();
    });
    await closing;
    expect(thread.failed).toMatch(/closed/);
    expect(both.sha).toBe(alone.sha);
    expect(both.result.threadRows).toBeLessThan(ROWS);
  });

  it('the CLI: --threads 2 writes the same bytes as --threads 1 (30,000 rows); --threads 0 is refused', async () => {
    const args = ['predict', '--model', 'run', '--input', 'digits3.idx', '--threads'];
    const one = await gradwire([...args, '1'], { cwd: dir });
    expect(one.status, one.stderr).toBe(0);
    expect(one.stderr).not.toMatch(/2 threads/);
    const two = await gradwire([...args, '2'], { cwd: dir });
    expect(two.status, two.stderr).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    // the thread worked (a failed one is named in a note)
    expect(two.stderr).toMatch(/predicted 30000 rows .* \(2 threads\)/);
    expect(two.stderr).not.toMatch(/helper thread/);
    expect(two.stdout.trim().split('\n')).toHaveLength(3 * ROWS + 1);
    const bad = await gradwire(['predict', '--model', 'run', '--input', 'digits.idx', '--threads', '0'], { cwd: dir });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--threads: "0" must be auto .* or a whole number from 1/);
  });
});
