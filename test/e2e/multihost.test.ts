// Issue 5: several hosts for real. The coordinator in one network namespace, three workers
// each in their own, joined by a bridge in a switch namespace (test/helpers/netns.ts); a run
// over those addresses, with a token, ends with the in-process weights. Mid-run one worker's
// link goes down: the coordinator drops it after the heartbeat timeout (no waiting for TCP to
// give up), the others carry on; the link comes back, the worker rejoins and gets work again;
// the weights are unchanged. Then threads across hosts: two "machines", each running ONE
// worker with --threads 2 (a thread team behind one connection), end with the in-process
// weights too. Needs root and iproute2 (CI runs as root); skipped otherwise.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, withFiles } from '../helpers/cli.js';
import { CLI, WORKER, inProcessSha, summary, type LogEvent, type Proc } from '../helpers/cluster.js';
import { Net, netnsUnavailable } from '../helpers/netns.js';

const skipReason = netnsUnavailable();
if (skipReason) console.warn(`multihost.test.ts skipped: ${skipReason}`);

// 2400 training samples, batch 48: 50 steps per epoch, 2000 in all (~15-25 s on 3 workers,
// long enough to cut a link, notice, heal and rejoin mid-run)
const CONFIG = `seed: 5
data: { name: spirals, samples: 3000, classes: 3, noise: 0.2 }
model: { hidden: [64, 64], activation: tanh, norm: batch, dropout: 0.2 }
optimizer: { name: adam, lr: 0.005 }
batchSize: 48
microbatch: 8
epochs: 40
`;
const STEPS = 2000;
// the same model (batch norm + dropout), 10 epochs: 500 steps
const THREADS_CONFIG = CONFIG.replace('epochs: 40', 'epochs: 10');
const THREADS_STEPS = 500;
const PORT = 7070;
const HEARTBEAT = '2';

const ms = (e: LogEvent): number => Date.parse(e.time as string);
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

describe('coordinator and workers on separate hosts (network namespaces)', () => {
  let net: Net | undefined;
  afterAll(async () => {
    await net?.close();
  });

  it.skipIf(skipReason !== null)(
    'trains to the in-process weights; a partitioned worker is dropped, the run goes on, and it rejoins when the link heals',
    async () => {
      const t0 = Date.now();
      const dir = withFiles({ 'run.yaml': CONFIG });
      const configFile = join(dir, 'run.yaml');
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
      const out = tempDir('gradwire-multihost-');
      const cache = tempDir('gradwire-multihost-cache-');
      // the reference opens no socket: it may run in the root namespace
      const reference = await inProcessSha(configFile);
      const tRef = Date.now();

      net = new Net(4);
      const [coordHost] = net.hosts;
      // nothing can leave a host namespace: no default route, only the bridge's subnet
      for (const i of [0, 1, 2, 3]) {
        expect(net.routes(i, 'default').trim()).toBe('');
        expect(net.routes(i).trim()).toMatch(/^198\.18\.0\.0\/24 dev eth0 [^\n]*$/);
      }
      const url = `ws://${coordHost!.address}:${PORT}`;
      const c = net.run(0, 'coordinator', [
        CLI,
        'coordinator',
        '--log-format',
        'json',
        '--log-level',
        'debug',
        '--config',
        configFile,
        '--listen',
        `${coordHost!.address}:${PORT}`,
        '--token-file',
        tokenFile,
        '--min-workers',
        '3',
        '--out',
        out,
        '--heartbeat-timeout',
        HEARTBEAT,
      ]);
      const listening = await c.waitForEvent('listening', () => true, 30_000);
      expect(listening).toMatchObject({ host: coordHost!.address, port: PORT, auth: true });
      const workers: Proc[] = [1, 2, 3].map((i) =>
        net!.run(i, `w${i}`, [
          WORKER,
          '--connect',
          url,
          '--token-file',
          tokenFile,
          '--name',
          `w${i}`,
          '--log-format',
          'json',
          '--cache-dir',
          cache,
          '--heartbeat-timeout',
          HEARTBEAT,
        ]),
      );

      // every worker reaches the coordinator from its own address
      for (const i of [1, 2, 3]) {
        const joined = await c.waitForEvent('worker-joined', (e) => e.name === `w${i}`, 30_000);
        expect(String(joined.address)).toContain(net.hosts[i]!.address);
      }
      await c.waitFor(
        (e) => e.event === 'step' && (e.step as number) >= 20 && e.workers === 3,
        'step 20 on 3 workers',
        60_000,
      );

      // partition: w2's switch port goes down
      const victim = 'w2';
      const cutAt = Date.now();
      net.link(2, 'down');
      const cutIndex = c.events.length;
      const gone = await c.waitFor(
        (e) => ['heartbeat-timeout', 'disconnected', 'reassign'].includes(e.event ?? '') && e.name === victim,
        `${victim} dropped`,
        10_000,
      );
      const detectMs = Date.now() - cutAt;
      expect(detectMs).toBeLessThan(6_000); // heartbeat timeout 2 s, not TCP's minutes
      // the run carries on without it
      const onTwo = await c.waitFor(
        (e) => e.event === 'step' && e.workers === 2 && c.events.indexOf(e) > cutIndex,
        'a step on the 2 others',
        15_000,
      );
      expect(c.exitCode).toBeNull();
      await sleep(1000);

      // heal: the worker reconnects by itself and gets work again
      const healAt = Date.now();
      net.link(2, 'up');
      const healIndex = c.events.length;
      const sinceHeal = (e: LogEvent): boolean => c.events.indexOf(e) >= healIndex;
      await c.waitFor(
        (e) => e.event === 'worker-joined' && e.name === victim && sinceHeal(e),
        `${victim} joined again`,
        30_000,
      );
      const ready = await c.waitFor(
        (e) => e.event === 'worker-ready' && e.name === victim && sinceHeal(e),
        `${victim} ready again`,
        30_000,
      );
      const rejoinMs = Date.now() - healAt;
      const readyIndex = c.events.indexOf(ready);
      const onThree = await c.waitFor(
        (e) => e.event === 'step' && e.workers === 3 && c.events.indexOf(e) > readyIndex,
        'a step on 3 workers after the rejoin',
        30_000,
      );

      expect(await c.exited).toBe(0);
      for (const w of workers) expect(await w.exited).toBe(0);
      const s = summary(out);
      expect(s.steps).toBe(STEPS);
      expect(s.weightsSha256).toBe(reference);
      // the victim noticed the silence too and reconnected
      expect(workers[1]!.events.some((e) => e.event === 'heartbeat-timeout' || e.event === 'reconnect')).toBe(true);

      const steps = c.events.filter((e) => e.event === 'step');
      console.log(
        `multihost: reference ${tRef - t0} ms; run ${ms(c.events.at(-1)!) - ms(listening)} ms; cut at step ${steps.filter((e) => ms(e) <= cutAt).at(-1)?.step}; ` +
          `${gone.event} after ${detectMs} ms; first 2-worker step ${onTwo.step}; rejoined ${rejoinMs} ms after the heal; ` +
          `first 3-worker step after it ${onThree.step} of ${STEPS}`,
      );
    },
    240_000,
  );
  it.skipIf(skipReason !== null)(
    'two hosts, one worker each with --threads 2: the in-process weights',
    async () => {
      const dir = withFiles({ 'run.yaml': THREADS_CONFIG });
      const configFile = join(dir, 'run.yaml');
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
      const out = tempDir('gradwire-multihost-threads-');
      const cache = tempDir('gradwire-multihost-threads-cache-');
      const reference = await inProcessSha(configFile);

      // its own namespaces (another prefix), closed at the end of this case
      const tnet = new Net(3, `gw${process.pid}t-`);
      try {
        const [coordHost] = tnet.hosts;
        for (const i of [0, 1, 2]) {
          expect(tnet.routes(i, 'default').trim()).toBe('');
          expect(tnet.routes(i).trim()).toMatch(/^198\.18\.0\.0\/24 dev eth0 [^\n]*$/);
        }
        const c = tnet.run(0, 'coordinator', [
          CLI,
          'coordinator',
          '--log-format',
          'json',
          '--log-level',
          'debug',
          '--config',
          configFile,
          '--listen',
          `${coordHost!.address}:${PORT}`,
          '--token-file',
          tokenFile,
          '--min-workers',
          '2',
          '--out',
          out,
        ]);
        await c.waitForEvent('listening', () => true, 30_000);
        const url = `ws://${coordHost!.address}:${PORT}`;
        const workers: Proc[] = [1, 2].map((i) =>
          tnet.run(i, `m${i}`, [
            WORKER,
            '--connect',
            url,
            '--token-file',
            tokenFile,
            '--name',
            `m${i}`,
            '--threads',
            '2',
            '--log-format',
            'json',
            '--cache-dir',
            cache,
          ]),
        );
        // one connection per machine, from its own address, with 2 compute threads behind it
        for (const i of [1, 2]) {
          const joined = await c.waitForEvent('worker-joined', (e) => e.name === `m${i}`, 30_000);
          expect(String(joined.address)).toContain(tnet.hosts[i]!.address);
          expect(joined.threads).toBe(2);
        }
        expect(await c.exited).toBe(0);
        for (const w of workers) expect(await w.exited).toBe(0);
        expect(c.events.filter((e) => e.event === 'worker-joined')).toHaveLength(2);
        const s = summary(out);
        expect(s.steps).toBe(THREADS_STEPS);
        expect(s.workers).toBe(2);
        expect(s.weightsSha256).toBe(reference);
      } finally {
        await tnet.close();
      }
    },
    180_000,
  );
});
