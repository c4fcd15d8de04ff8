// Log levels that mean something: a run that starts, waits briefly for its workers and ends
// well logs no warning (pino levels: 30 info, 40 warn). Waiting for workers is info at first
// (every start waits) and a warning only once the wait is long (30 s, the coordinator's
// WAIT_WARN_MS); a worker that closes cleanly (1000, 1001, or once the run is done) is info,
// one cut off (a killed process: 1006) a warning. A JSON log holds epochs and events at info;
// the line per step is debug (pino 20), there with --log-level debug or GRADWIRE_LOG_LEVEL.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gradwire, tempDir, withFiles } from '../helpers/cli.js';
import { killAll, listeningPort, startCoordinator, startWorker } from '../helpers/cluster.js';

const DEBUG = 20;
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

  /** the JSON lines of a `gradwire train --in-process` of run(2): 16 steps in 2 epochs */
  const train = async (args: string[], env: Record<string, string> = {}): Promise<Array<Record<string, unknown>>> => {
    const r = await gradwire(
      ['train', '--in-process', '--config', run(2), '--out', tempDir(), '--log-format', 'json', ...args],
      {
        env,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    return r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  };

  it('at the default level a JSON log has the epochs and events, not a line per step', async () => {
    const lines = await train([]);
    expect(lines.filter((e) => e.event === 'step')).toEqual([]);
    expect(lines.filter((e) => e.event === 'epoch').map((e) => e.level)).toEqual([INFO, INFO]);
    expect(lines.filter((e) => e.event === 'done').map((e) => e.level)).toEqual([INFO]);
  });

  it('--log-level debug (or GRADWIRE_LOG_LEVEL=debug) adds one debug line per step', async () => {
    for (const lines of [await train(['--log-level', 'debug']), await train([], { GRADWIRE_LOG_LEVEL: 'debug' })]) {
      const steps = lines.filter((e) => e.event === 'step');
      // a step line carries the index of the step taken (from 0), an epoch line the steps done
      const done = lines.filter((e) => e.event === 'epoch').at(-1)!.step as number;
      expect(done).toBe(16);
      expect(steps.map((e) => e.step)).toEqual(Array.from({ length: done }, (_, i) => i));
      expect(steps.every((e) => e.level === DEBUG)).toBe(true);
      expect(lines.filter((e) => e.event === 'epoch')).toHaveLength(2);
    }
  });

  it('an unknown level is a usage error that names the allowed ones', async () => {
    const flag = await gradwire([
      'train',
      '--in-process',
      '--config',
      run(1),
      '--out',
      tempDir(),
      '--log-level',
      'loud',
    ]);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/--log-level: "loud" is not one of trace, debug, info, warn, error, fatal, silent/);
    const env = await gradwire(['sweep', '--preset', 'lecture', '--out', tempDir()], {
      env: { GRADWIRE_LOG_LEVEL: 'chatty' },
    });
    expect(env.status).toBe(2);
    expect(env.stderr).toMatch(/GRADWIRE_LOG_LEVEL: "chatty" is not one of/);
    const worker = await gradwire(['worker', '--connect', 'ws://127.0.0.1:9', '--log-level', 'verbose']);
    expect(worker.status).toBe(2);
    expect(worker.stderr).toMatch(/--log-level: "verbose" is not one of trace, debug, info/);
  });
});
