// Security and bad input over real sockets, with real coordinator and worker processes: the
// token never crosses the wire (HMAC over a server nonce), a coordinator beyond loopback
// without a token, or with one of less than 256 bits of entropy, refuses to start, wss:// with the given certificate, and every bad input —
// a malformed frame, a frame over the size limit, a message of the wrong type for the state,
// another protocol version, a bad token, a gradient of the wrong length or not finite — is
// rejected with a logged error and its connection closed, while the run goes on and ends with
// the same weights as in-process training.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, decodeToCoordinator, type ToWorker } from '../../shared/protocol.js';
import { CLI, NODE_ARGS, ROOT, WORKER, tempDir, withFiles } from '../helpers/cli.js';
import { Proc, inProcessSummary, summary, type LogEvent } from '../helpers/cluster.js';
import { Rogue, Tap, badGrads, hmac, nanSync, zeroGrads, type Step } from '../helpers/rogue.js';
import { opensslMissing, selfSignedCert } from '../helpers/tls.js';

const NODE = process.execPath;

// iris: 120 training samples, batch 16, microbatch 4 → 8 steps of 4 microbatches per epoch
const config = (norm: string): string => `
seed: 5
data: { name: iris }
model: { hidden: [16], norm: ${norm}, dropout: 0.1 }
optimizer: { name: adam, lr: 0.01 }
batchSize: 16
microbatch: 4
epochs: 3
`;
// a run that genuinely diverges: adam with lr 1e30, the weights overflow after step 0
const diverging = (policy: string): string => `
seed: 5
data: { name: iris }
model: { hidden: [16] }
optimizer: { name: adam, lr: 1e30 }
batchSize: 16
microbatch: 16
epochs: 1
${policy === 'default' ? '' : `onNonFinite: ${policy}`}
`;

const dir = withFiles({
  'bn.yaml': config('batch'),
  'plain.yaml': config('none'),
  'stop.yaml': diverging('default'),
  'skip.yaml': diverging('skip'),
});
const files = {
  bn: join(dir, 'bn.yaml'),
  plain: join(dir, 'plain.yaml'),
  stop: join(dir, 'stop.yaml'),
  skip: join(dir, 'skip.yaml'),
};
const STEPS = 24;
// parameters: 4·16 + 16 (+ 2·16 BatchNorm) + 16·3 + 3
const PARAMS = { bn: 163, plain: 131 };

/** the environment of a child: ours without any GRADWIRE_* setting, plus `extra` */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { FORCE_COLOR: '0' };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GRADWIRE_')) env[k] = v;
  return { ...env, ...extra };
}

/** summary.json of the same config trained in-process: the reference */
const inProcess = (file: string) => inProcessSummary(file, childEnv(), 60_000);

const reference = {
  bn: (await inProcess(files.bn)).weightsSha256,
  plain: (await inProcess(files.plain)).weightsSha256,
  skip: await inProcess(files.skip),
};

const procs: Proc[] = [];
const rogues: Rogue[] = [];
const taps: Tap[] = [];

afterEach(async () => {
  for (const r of rogues.splice(0)) r.terminate();
  for (const t of taps.splice(0)) await t.close();
  for (const p of procs.splice(0)) {
    p.kill('SIGKILL');
    await p.exited;
  }
});

function start(name: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(NODE, [...NODE_ARGS, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(env),
  });
  const p = new Proc(name, child);
  procs.push(p);
  return p;
}

function startCoordinator(
  file: string,
  out: string,
  o: { minWorkers?: number; args?: string[]; env?: Record<string, string>; listen?: string } = {},
): Proc {
  return start(
    'coordinator',
    [
      CLI,
      'coordinator',
      '--config',
      file,
      '--listen',
      o.listen ?? '127.0.0.1:0',
      '--out',
      out,
      '--log-format',
      'json',
      '--min-workers',
      String(o.minWorkers ?? 1),
      '--heartbeat-timeout',
      '3',
      ...(o.args ?? []),
    ],
    o.env,
  );
}

function startWorker(url: string, name: string, args: string[] = [], env: Record<string, string> = {}): Proc {
  return start(
    name,
    [
      WORKER,
      '--connect',
      url,
      '--name',
      name,
      '--log-format',
      'json',
      '--cache-dir',
      tempDir('gradwire-cache-'),
      ...args,
    ],
    env,
  );
}

async function rogue(url: string, name = 'rogue', ca?: Buffer): Promise<Rogue> {
  const r = await Rogue.connect(url, { name, ...(ca ? { ca } : {}) });
  rogues.push(r);
  return r;
}

async function listening(c: Proc): Promise<number> {
  return (await c.waitForEvent('listening', () => true, 30_000)).port as number;
}

/** the coordinator's `rejected` log line for a connection (by its local port or its name) */
function rejected(c: Proc, code: string, who: { port?: number; name?: string }): Promise<LogEvent> {
  return c.waitFor(
    (e) =>
      e.event === 'rejected' &&
      e.code === code &&
      (who.port === undefined || String(e.address).endsWith(`:${who.port}`)) &&
      (who.name === undefined || e.name === who.name),
    `a "rejected" log line with ${code}`,
    15_000,
  );
}

function errorsSent(r: Rogue): Array<Extract<ToWorker, { type: 'error' }>> {
  return r.all.filter((m): m is Extract<ToWorker, { type: 'error' }> => m.type === 'error');
}

/** the good workers were never rejected nor dropped */
function untouched(c: Proc, ...names: string[]): void {
  const done = c.events.findIndex((e) => e.event === 'done');
  const during = done < 0 ? c.events : c.events.slice(0, done); // after the run they leave
  const hits = during.filter(
    (e) =>
      names.includes(e.name as string) &&
      ['rejected', 'disconnected', 'reassign', 'heartbeat-timeout'].includes(e.event ?? ''),
  );
  expect(hits).toEqual([]);
}

/** The run ends normally with the reference weights. */
async function expectUnchanged(c: Proc, out: string, sha: string): Promise<void> {
  expect(await c.exited).toBe(0);
  const s = summary(out);
  expect(s.steps).toBe(STEPS);
  expect(s.weightsSha256).toBe(sha);
}

/** A run in flight: a coordinator waiting for 2 workers, a holder (a rogue that joined
 *  properly) and one good worker. Step 0 is split between them and the holder sits on its
 *  share, so the run stays mid-step while a test attacks it; `endsUnchanged` makes the holder leave
 *  (its share goes to the good worker) and the run completes. */
async function runInFlight(
  file: string,
  o: { args?: string[]; env?: Record<string, string>; token?: string; workerArgs?: string[] } = {},
) {
  const out = tempDir();
  const c = startCoordinator(file, out, { minWorkers: 2, ...o });
  const port = await listening(c);
  const url = `ws://127.0.0.1:${port}`;
  const holder = await rogue(url, 'holder');
  await holder.join({ token: o.token ?? null });
  const good = startWorker(url, 'good-1', o.workerArgs, o.env);
  const step0 = await holder.next('step');
  expect(step0.step).toBe(0);
  return {
    c,
    out,
    url,
    port,
    good,
    step0,
    /** still mid-step: release the holder; the run ends with the in-process weights and
     *  nothing touched the good worker */
    async endsUnchanged(sha: string): Promise<void> {
      expect(c.exitCode).toBeNull();
      holder.close();
      await expectUnchanged(c, out, sha);
      untouched(c, 'good-1');
      expect(await good.exited).toBe(0);
    },
  };
}

describe('bad frames and messages out of turn: rejected, logged, closed; the run goes on unchanged', () => {
  interface Attack {
    act: (r: Rogue) => Promise<void> | void;
    /** the WebSocket close code the rogue sees */
    close: number;
    code: string;
    log: RegExp;
    env?: Record<string, string>;
    /** the coordinator says why in an `error` message first (not for frames ws itself refuses) */
    told?: boolean;
  }
  const attacks: Array<[string, Attack]> = [
    [
      'garbage bytes (not msgpack)',
      {
        act: (r) => r.sendRaw(Buffer.from([0xc1, 0xff, 0x00, 0x13, 0x37, 0x42])),
        close: 4003,
        code: 'E_BAD_FRAME',
        log: /frame is not valid msgpack/,
        told: true,
      },
    ],
    [
      'msgpack that is not a protocol message',
      {
        act: (r) =>
          r.sendRaw(
            Buffer.from([0x82, 0xa4, 0x74, 0x79, 0x70, 0x65, 0xa5, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0xa1, 0x78, 0x01]),
          ), // {type: 'hello', x: 1}
        close: 4003,
        code: 'E_BAD_FRAME',
        log: /invalid "hello" message: protocol: /,
        told: true,
      },
    ],
    [
      'a text frame',
      {
        act: (r) => r.sendRaw('{"type":"hello","protocol":1}'),
        close: 4003,
        code: 'E_BAD_FRAME',
        log: /text frame; the protocol is binary msgpack/,
        told: true,
      },
    ],
    [
      'a broken WebSocket frame (reserved opcode)',
      {
        act: (r) => r.writeSocket(Buffer.from([0x83, 0x80, 0x01, 0x02, 0x03, 0x04])),
        close: 1002,
        code: 'E_BAD_FRAME',
        log: /bad frame: Invalid WebSocket frame: invalid opcode 3/,
      },
    ],
    [
      'a frame over the size limit (GRADWIRE_MAX_FRAME_BYTES=65536)',
      {
        act: (r) => r.sendRaw(randomBytes(70_000)),
        close: 1009,
        code: 'E_BAD_FRAME',
        log: /bad frame: Max payload size exceeded \(the limit is 65536 bytes\)/,
        env: { GRADWIRE_MAX_FRAME_BYTES: '65536' },
      },
    ],
    [
      'a hello with protocol version 999',
      {
        act: async (r) => {
          await r.hello({ protocol: 999 });
        },
        close: 4001,
        code: 'E_PROTOCOL_VERSION',
        log: new RegExp(`speaks protocol version 999; this coordinator speaks ${PROTOCOL_VERSION}:`),
        told: true,
      },
    ],
    [
      'gradients instead of a hello (wrong type for the handshake)',
      {
        act: async (r) => {
          await r.next('challenge');
          r.send({ type: 'grads', jobId: 'x', step: 0, attempt: 1, blocks: [], computeMs: 0 });
        },
        close: 4004,
        code: 'E_UNEXPECTED',
        log: /unexpected "grads" message in state handshake/,
        told: true,
      },
    ],
    [
      'gradients before ready (wrong type for a worker still loading the job)',
      {
        act: async (r) => {
          const job = await r.join({ ready: false });
          r.send({
            type: 'grads',
            jobId: job.jobId,
            step: 0,
            attempt: 1,
            blocks: [{ start: 0, size: 1, grads: new Float32Array(PARAMS.bn), lossSum: 0, correct: 0 }],
            computeMs: 1,
          });
        },
        close: 4004,
        code: 'E_UNEXPECTED',
        log: /unexpected "grads" message in state loading/,
        told: true,
      },
    ],
  ];

  it.each(attacks)(
    '%s',
    async (_name, a) => {
      const run = await runInFlight(files.bn, { ...(a.env ? { env: a.env } : {}) });
      const r = await rogue(run.url);
      const port = r.localPort;
      await a.act(r);
      // the rejection: the connection is closed with the code for it...
      expect((await r.closed).code).toBe(a.close);
      if (a.told) expect(errorsSent(r).map((m) => m.code)).toEqual([a.code]);
      // ...the log line: an error naming the code and the reason...
      const line = await rejected(run.c, a.code, { port });
      expect(line.level).toBe(50);
      expect(line.msg).toMatch(a.log);
      // ...and the run goes on: mid-step, nobody else touched; then it ends with the same weights
      await run.endsUnchanged(reference.bn);
    },
    30_000,
  );
});

describe('bad results from a worker that joined properly: closed, its work recomputed, the result unchanged', () => {
  const cases: Array<[string, 'bn' | 'plain', (s: Step, n: number) => Parameters<Rogue['send']>[0], string, RegExp]> = [
    [
      'a gradient of the wrong length (BatchNorm: the step restarts)',
      'bn',
      (s, n) => badGrads(s, n, 'length'),
      'E_BAD_RESULT',
      /step 0: gradient of length 164, the model has 163 parameters/,
    ],
    [
      'a gradient of the wrong length (no BatchNorm: only its microbatches move)',
      'plain',
      (s, n) => badGrads(s, n, 'length'),
      'E_BAD_RESULT',
      /step 0: gradient of length 132, the model has 131 parameters/,
    ],
    [
      'gradient blocks that do not match the assignment',
      'plain',
      (s, n) => badGrads(s, n, 'blocks'),
      'E_BAD_RESULT',
      /step 0: gradient blocks do not match the assigned microbatches \d+\.\.\d+/,
    ],
    [
      'a non-finite gradient, once',
      'plain',
      (s, n) => badGrads(s, n, 'nan'),
      'E_NON_FINITE',
      /step 0: sent a non-finite gradient that worker good-1 \(w\d+, [\d.:]+\) computed finite/,
    ],
    [
      'non-finite BatchNorm partial values',
      'bn',
      (s) => nanSync(s),
      'E_NON_FINITE',
      /sync round 0: partial values of unequal length or not finite/,
    ],
  ];

  it.each(cases)(
    '%s',
    async (_name, kind, answer, code, log) => {
      const out = tempDir();
      const c = startCoordinator(files[kind], out, { minWorkers: 2 });
      const url = `ws://127.0.0.1:${await listening(c)}`;
      const r = await rogue(url, 'rogue');
      await r.join();
      const good = startWorker(url, 'good-1');
      const step = await r.next('step');
      expect(step.params?.length).toBe(PARAMS[kind]);
      r.send(answer(step, step.params!.length));
      expect((await r.closed).code).toBe(4005);
      expect(errorsSent(r).map((m) => m.code)).toEqual([code]);
      const line = await rejected(c, code, { name: 'rogue' });
      expect(line.level).toBe(50);
      expect(line.msg).toMatch(log);
      // its microbatches go to the good worker (the whole step with BatchNorm); a non-finite
      // gradient is recomputed first and its sender closed once the recomputation is finite
      if (_name === 'a non-finite gradient, once') {
        expect(await c.waitForEvent('non-finite-recheck', (e) => e.name === 'rogue')).toMatchObject({
          step: 0,
        });
      } else {
        const reassign = await c.waitForEvent('reassign', (e) => e.name === 'rogue');
        expect(reassign).toMatchObject({ step: 0, restart: kind === 'bn' });
      }
      await expectUnchanged(c, out, reference[kind]);
      untouched(c, 'good-1');
      expect(await good.exited).toBe(0);
    },
    30_000,
  );
});

describe('the token', () => {
  const token = `gw-token-${randomBytes(12).toString('hex')}`;
  const tokenDir = withFiles({ token: `${token}\n`, wrong: 'not-the-token\n' });
  const tokenFile = join(tokenDir, 'token');

  it('never crosses the wire: a worker proves it with HMAC-SHA256 over the nonce and trains to the in-process weights', async () => {
    const out = tempDir();
    const c = startCoordinator(files.bn, out, { args: ['--token-file', tokenFile] });
    const port = await listening(c);
    expect(c.events.find((e) => e.event === 'listening')).toMatchObject({ auth: true, tls: false });
    // everything between the clients and the coordinator goes through a tap that records it
    const tap = await Tap.start(port);
    taps.push(tap);
    const url = `ws://127.0.0.1:${tap.port}`;
    const r = await rogue(url, 'prober');
    const challenge = await r.hello({ token });
    expect(challenge.authRequired).toBe(true);
    expect(challenge.nonce.byteLength).toBe(32);
    await r.next('welcome');
    await r.next('job');
    const hello = decodeToCoordinator(r.sent[0]!);
    if (hello.type !== 'hello') throw new Error('the first frame is a hello');
    expect(hello.auth?.byteLength).toBe(32);
    expect(Buffer.from(hello.auth!)).toEqual(hmac(token, challenge.nonce));
    // a real worker with the token (an empty cache: the dataset comes over the tap too)
    const w = startWorker(url, 'good-1', ['--token-file', tokenFile]);
    expect(await w.exited).toBe(0);
    await expectUnchanged(c, out, reference.bn);
    expect((await w.waitForEvent('job')).cached).toBe(false);
    // the tap saw the handshake, the frames and the dataset request — and never the token
    const wire = tap.bytes();
    expect(wire.includes('GET /datasets/')).toBe(true);
    expect(wire.includes('x-gradwire-session')).toBe(true);
    expect(wire.byteLength).toBeGreaterThan(10_000);
    expect(wire.includes(token)).toBe(false);
    for (const frame of [...r.sent, ...r.received]) expect(frame.includes(token)).toBe(false);
    // nor is it in any log line
    for (const p of [c, w]) expect(p.lines.join('\n') + p.stderr).not.toContain(token);
  }, 30_000);

  it('a wrong token: E_AUTH logged, the worker exits 2 saying why; a wrong or missing HMAC likewise; the run goes on unchanged', async () => {
    const run = await runInFlight(files.bn, {
      args: ['--token-file', tokenFile],
      token,
      workerArgs: ['--token-file', tokenFile],
    });
    const bad = startWorker(run.url, 'bad-token', ['--token-file', join(tokenDir, 'wrong')]);
    const none = startWorker(run.url, 'no-token');
    const wrongHmac = await rogue(run.url, 'wrong-hmac');
    const wrongPort = wrongHmac.localPort;
    await wrongHmac.hello({ auth: new Uint8Array(randomBytes(32)) });
    const missing = await rogue(run.url, 'missing-hmac');
    const missingPort = missing.localPort;
    await missing.hello({});
    for (const [r, p] of [
      [wrongHmac, wrongPort],
      [missing, missingPort],
    ] as const) {
      expect((await r.closed).code).toBe(4002);
      expect(errorsSent(r).map((m) => m.code)).toEqual(['E_AUTH']);
      const line = await rejected(run.c, 'E_AUTH', { port: p });
      expect(line.msg).toMatch(/authentication failed: wrong or missing token/);
    }
    // the worker with the wrong token: rejected, and it gives up with exit code 2, saying why
    const line = await rejected(run.c, 'E_AUTH', { name: 'bad-token' });
    expect(line.level).toBe(50);
    expect(await bad.exited).toBe(2);
    expect((await bad.waitForEvent('fatal')).msg).toMatch(
      /giving up: E_AUTH: authentication failed: wrong or missing token/,
    );
    // a worker without a token does not even try
    expect(await none.exited).toBe(2);
    expect((await none.waitForEvent('fatal')).msg).toMatch(
      /the coordinator requires a token: give --token-file FILE or GRADWIRE_TOKEN/,
    );
    await run.endsUnchanged(reference.bn);
  }, 30_000);
});

describe('listening beyond loopback', () => {
  it.each(['0.0.0.0:0', '[::]:0'])(
    '--listen %s without a token: refuses to start, exit 2, and says why',
    async (listen) => {
      const c = startCoordinator(files.bn, tempDir(), { listen });
      expect(await c.exited).toBe(2);
      const host = listen.replace(/^\[|\]?:0$/g, '');
      expect(c.stderr).toContain(
        `gradwire: error: --listen ${host}:0: refusing to listen on ${host} without a token: workers beyond loopback must authenticate`,
      );
      expect(c.stderr).toMatch(/--token-file FILE/);
      expect(c.events.some((e) => e.event === 'listening')).toBe(false);
    },
    20_000,
  );

  // tokens must carry at least 256 bits of entropy beyond loopback (shared/token.ts tokenStrength)
  const MAKE = 'Make one with: openssl rand -hex 32 > token (64 hex digits; openssl rand -base64 32 serves too)';
  const weakDir = withFiles({
    repeated: `${'ab'.repeat(32)}\n`,
    short: `${randomBytes(31).toString('hex')}\n`,
  });
  it.each([
    [
      'a repeated pattern in --token-file',
      ['--token-file', join(weakDir, 'repeated')],
      {},
      `--token-file ${join(weakDir, 'repeated')}: the token has ~2 bits of entropy (only 2 distinct characters)`,
    ],
    [
      '31 random bytes in --token-file',
      ['--token-file', join(weakDir, 'short')],
      {},
      `--token-file ${join(weakDir, 'short')}: the token has ~248 bits of entropy (62 characters of hex (16 symbols))`,
    ],
    [
      'a word and some hex in GRADWIRE_TOKEN',
      [],
      { GRADWIRE_TOKEN: 'gw-token-0123456789abcdef01234567' },
      'GRADWIRE_TOKEN: the token has ~171 bits of entropy (33 characters of digits, lowercase letters, symbols (37 symbols))',
    ],
  ] as Array<[string, string[], Record<string, string>, string]>)(
    '--listen 0.0.0.0:0 with a weak token (%s): refuses to start, exit 2, names the bits and how to make one',
    async (_name, args, env, why) => {
      const c = startCoordinator(files.bn, tempDir(), { listen: '0.0.0.0:0', args, env });
      expect(await c.exited).toBe(2);
      expect(c.stderr).toContain(
        `gradwire: error: ${why}; a coordinator listening beyond loopback needs at least 256. ${MAKE}`,
      );
      expect(c.events.some((e) => e.event === 'listening')).toBe(false);
    },
    20_000,
  );

  it('--listen 0.0.0.0:0 with a token from openssl rand -hex 32 or -base64 32 starts; on loopback a short token serves', async () => {
    const strong = withFiles({ hex: `${randomBytes(32).toString('hex')}\n` });
    for (const [listen, o] of [
      ['0.0.0.0:0', { args: ['--token-file', join(strong, 'hex')] }],
      ['0.0.0.0:0', { env: { GRADWIRE_TOKEN: randomBytes(32).toString('base64') } }],
      ['127.0.0.1:0', { env: { GRADWIRE_TOKEN: 's3cret' } }],
    ] as Array<[string, { args?: string[]; env?: Record<string, string> }]>) {
      const c = startCoordinator(files.bn, tempDir(), { listen, ...o });
      expect(await c.waitForEvent('listening', () => true, 30_000)).toMatchObject({
        host: listen.replace(/:0$/, ''),
        auth: true,
      });
      c.kill('SIGKILL');
      await c.exited;
    }
  }, 60_000);
});

const haveOpenssl = opensslMissing === null;
if (!haveOpenssl)
  console.warn(
    'security.test.ts: openssl is not installed: skipping the TLS test (it needs a self-signed certificate)',
  );

describe.skipIf(!haveOpenssl)('TLS', () => {
  it('wss:// with the given certificate: a worker trusting it trains to the in-process weights, the dataset comes over https, nothing is in clear', async () => {
    const { cert, key } = selfSignedCert();
    const token = `gw-tls-token-${randomBytes(8).toString('hex')}`;
    const tokenFile = join(withFiles({ token }), 'token');
    const out = tempDir();
    const c = startCoordinator(files.bn, out, {
      args: ['--tls-cert', cert, '--tls-key', key, '--token-file', tokenFile],
    });
    const port = await listening(c);
    expect(c.events.find((e) => e.event === 'listening')).toMatchObject({ tls: true, auth: true });
    // a client that does not trust the certificate cannot connect; neither can plain ws://
    await expect(Rogue.connect(`wss://127.0.0.1:${port}`)).rejects.toThrow(/self[- ]signed certificate/);
    await expect(Rogue.connect(`ws://127.0.0.1:${port}`)).rejects.toThrow();
    const tap = await Tap.start(port);
    taps.push(tap);
    const w = startWorker(`wss://127.0.0.1:${tap.port}`, 'good-tls', ['--tls-ca', cert, '--token-file', tokenFile]);
    expect(await w.exited).toBe(0);
    await expectUnchanged(c, out, reference.bn);
    // the dataset was fetched (not cached) — over https, since the tap saw no clear text
    expect((await w.waitForEvent('job')).cached).toBe(false);
    const up = Buffer.concat(tap.up);
    expect(up[0]).toBe(0x16); // a TLS handshake record
    const wire = tap.bytes();
    expect(wire.byteLength).toBeGreaterThan(10_000);
    for (const clear of ['GET /datasets', 'x-gradwire-session', 'websocket', 'Upgrade', token, 'good-tls', '"iris"']) {
      expect(wire.includes(clear), clear).toBe(false);
    }
  }, 30_000);
});

describe('onNonFinite', () => {
  it('stop (the default; the config does not set it): a run that diverges ends with exit 2 and a message naming the step and the worker', async () => {
    const c = startCoordinator(files.stop, tempDir());
    const w = startWorker(`ws://127.0.0.1:${await listening(c)}`, 'good-1');
    expect(await c.exited).toBe(2);
    // the first non-finite answer could come from a faulty worker: it is recomputed first...
    const line = await c.waitForEvent('non-finite-recheck', (e) => e.name === 'good-1');
    expect(line.msg).toMatch(
      /step 1: worker good-1 .* sent a non-finite gradient for microbatches 0\.\.0; recomputing them/,
    );
    // ...and a worker that computed correctly is not blamed
    expect(c.events.filter((e) => e.event === 'rejected')).toEqual([]);
    // ...the second confirms it: the run stops, naming the step and the worker
    expect(c.stderr).toMatch(
      /^gradwire: error: step 1: the gradient is not finite \(computed twice, last by worker good-1 \(w\d+, 127\.0\.0\.1:\d+\)\); lower optimizer\.lr/m,
    );
    w.kill('SIGKILL');
  }, 30_000);

  it('skip: a run that diverges finishes, skipping the steps (as in-process), and summary.json counts them', async () => {
    const out = tempDir();
    const c = startCoordinator(files.skip, out);
    startWorker(`ws://127.0.0.1:${await listening(c)}`, 'good-1');
    expect(await c.exited).toBe(0);
    const s = summary(out);
    expect(s.skippedSteps).toBeGreaterThan(0);
    expect(s.skippedSteps).toBe(reference.skip.skippedSteps);
    expect(s.steps).toBe(8);
    expect(s.weightsSha256).toBe(reference.skip.weightsSha256);
    // each skipped step was computed twice before it was believed; the honest worker stayed
    expect(c.events.filter((e) => e.event === 'non-finite-recheck').length).toBe(s.skippedSteps);
    expect(c.events.filter((e) => e.event === 'rejected')).toEqual([]);
  }, 30_000);
});

describe('the step flow on the wire', () => {
  it('the next step goes out while the last one is applied: its samples first (no weights), then a params message', async () => {
    const out = tempDir();
    const c = startCoordinator(files.plain, out, { minWorkers: 1 });
    const r = await rogue(`ws://127.0.0.1:${await listening(c)}`);
    await r.join();
    const s0 = await r.next('step');
    expect(s0.step).toBe(0);
    expect(s0.params?.length).toBe(PARAMS.plain); // handed out with its weights
    r.send(zeroGrads(s0, PARAMS.plain));
    const s1 = await r.next('step');
    const p1 = await r.next('params');
    expect(s1).toMatchObject({ step: 1, attempt: s0.attempt, firstMicrobatch: 0 });
    expect(s1.params).toBeUndefined();
    expect(s1.samples.length).toBe(s0.samples.length);
    expect(p1).toMatchObject({ type: 'params', jobId: s0.jobId, step: 1 });
    expect(p1.params.length).toBe(PARAMS.plain);
    expect(r.all.indexOf(s1)).toBeLessThan(r.all.indexOf(p1));
    // the worker has the weights now: a step handed out again (after a reassignment) would not
    // carry them; the run goes on as long as the rogue answers
    r.send(zeroGrads(s1, PARAMS.plain));
    expect((await r.next('params')).step).toBe(2);
    r.close();
  }, 30_000);
});
