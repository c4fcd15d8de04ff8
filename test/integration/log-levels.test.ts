// Log levels that mean something: a run that starts, waits briefly for its workers and ends
// well logs no warning (pino levels: 30 info, 40 warn). Waiting for workers is info at first
// (every start waits) and a warning only once the wait is long (30 s, the coordinator's
// WAIT_WARN_MS); a worker that closes cleanly (1000, 1001, or once the run is done) is info,
// one cut off (a killed process: 1006) a warning.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, withFiles } from '../helpers/cli.js';
import { killAll, listeningPort, startCoordinator, startWorker } from '../helpers/cluster.js';

const INFO = 30;
const WARN = 40;

// 120 training samples, batch 16: 8 steps per epoch; epochs set per test
const run = (epochs: number): string =>
  join(
    withFiles({
      'run.yaml': `seed: 1\ndata: { name: iris }\nmodel: { hidden: [8] }\noptimizer: { name: adam, lr: 0.01 }\nbatchSize: 16\nmicrobatch: 8\nepochs: ${epochs}\n`,
    }),
    'run.yaml',
  );

afterEach(killAll);

describe('log levels', () => {
  it('a start that waits for its workers and a run that ends well log no warning', async () => {
    const c = startCoordinator([
      '--config',
      run(2),
      '--listen',
      '127.0.0.1:0',
      '--out',
      tempDir(),
      '--min-workers',
      '2',
    ]);
    const port = await listeningPort(c);
    const waiting = await c.waitForEvent('waiting');
    expect(waiting.msg).toMatch(/waiting for workers: 0 ready, 2 needed/);
    expect(waiting.level).toBe(INFO);
    const workers = [startWorker(port, 'a'), startWorker(port, 'b')];
    expect(await c.exited).toBe(0);
    for (const w of workers) expect(await w.exited).toBe(0);
    expect(c.events.filter((e) => e.event === 'waiting').every((e) => e.level === INFO)).toBe(true);
    for (const e of c.events.filter((e) => e.event === 'disconnected')) expect(e).toMatchObject({ level: INFO });
    expect(c.events.filter((e) => (e.level as number) >= WARN)).toEqual([]);
  });

  it('a worker killed mid-run is a warning', async () => {
    const c = startCoordinator([
      '--config',
      run(400),
      '--listen',
      '127.0.0.1:0',
      '--out',
      tempDir(),
      '--min-workers',
      '1',
    ]);
    const port = await listeningPort(c);
    const a = startWorker(port, 'a');
    await c.waitForStep(5);
    a.kill('SIGKILL');
    const gone = await c.waitForEvent('disconnected', (e) => e.name === 'a');
    expect(gone).toMatchObject({ code: 1006, level: WARN });
  });
});
