// Version tolerance that keeps exactness (PROTOCOL.md, Handshake): the coordinator compares what
// determines a worker's bits — the kernel variant, the kernel build (sha256 of kernels.wasm) and,
// only for the js kernels, which call the runtime's Math.exp and friends, the V8 version and the
// math fingerprint. Real coordinator and worker processes over loopback sockets; a worker "on
// another Node.js patch release" is a real worker whose process.versions say so
// (test/helpers/fake-runtime.mjs); other kernel builds and math fingerprints come from a rogue
// client that speaks the handshake.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kernelVariant } from '../../shared/kernels/index.js';
import '../../shared/node/kernels-wasm.js';
import { mathFingerprint } from '../../shared/kernels/runtime-math.js';
import { PROTOCOL_VERSION, encode, type ToWorker } from '../../shared/protocol.js';
import { CLI, NODE_ARGS, ROOT, WORKER, tempDir, withFiles } from '../helpers/cli.js';
import { Proc, inProcessSummary, summary, type LogEvent } from '../helpers/cluster.js';
import { Rogue, runtime } from '../helpers/rogue.js';

const NODE = process.execPath;
const FAKE_RUNTIME = join(ROOT, 'test/helpers/fake-runtime.mjs');

/** another patch release of this Node.js: the same major, another V8 patch level */
const OTHER_NODE = `${process.versions.node.split('.')[0]}.99.1`;
const OTHER_V8 = `${process.versions.v8.replace(/-node\.\d+$/, '')}-node.999`;

// iris: 120 training samples, batch 16, microbatch 4 → 8 steps per epoch. gelu and the
// cross-entropy loss call exp/erf/log on every step (in wasm-simd: the kernels' own).
const CONFIG = `
seed: 7
data: { name: iris }
model: { hidden: [16], activation: gelu, norm: batch, dropout: 0.1 }
optimizer: { name: adam, lr: 0.01 }
batchSize: 16
microbatch: 4
epochs: 2
`;
const STEPS = 16;
const file = join(withFiles({ 'run.yaml': CONFIG }), 'run.yaml');

/** the environment of a child: ours without any GRADWIRE_* or TEST_FAKE_* setting, plus `extra` */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { FORCE_COLOR: '0' };
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('GRADWIRE_') && !k.startsWith('TEST_FAKE_')) env[k] = v;
  return { ...env, ...extra };
}

/** a worker process that reports another Node.js release (only its process.versions differ) */
const OTHER_RELEASE = {
  NODE_OPTIONS: `--import=${FAKE_RUNTIME}`,
  TEST_FAKE_NODE: OTHER_NODE,
  TEST_FAKE_V8: OTHER_V8,
};

async function inProcess(kernels: string): Promise<string> {
  return (await inProcessSummary(file, childEnv({ GRADWIRE_KERNELS: kernels }), 60_000)).weightsSha256;
}

const haveWasm = kernelVariant() === 'wasm-simd';
const KERNELS_WASM = join(ROOT, 'shared/kernels/build/kernels.wasm');
const wasmBuild = haveWasm ? createHash('sha256').update(readFileSync(KERNELS_WASM)).digest('hex') : '';

const procs: Proc[] = [];
const rogues: Rogue[] = [];

afterEach(async () => {
  for (const r of rogues.splice(0)) r.terminate();
  for (const p of procs.splice(0)) {
    p.kill('SIGKILL');
    await p.exited;
  }
});

function start(name: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(NODE, [...NODE_ARGS, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(env),
  });
  const p = new Proc(name, child);
  procs.push(p);
  return p;
}

function startCoordinator(out: string, kernels: string, minWorkers: number): Proc {
  return start(
    'coordinator',
    [
      CLI,
      'coordinator',
      '--config',
      file,
      '--listen',
      '127.0.0.1:0',
      '--out',
      out,
      '--log-format',
      'json',
      '--min-workers',
      String(minWorkers),
      '--heartbeat-timeout',
      '3',
    ],
    { GRADWIRE_KERNELS: kernels },
  );
}

function startWorker(url: string, name: string, env: Record<string, string>): Proc {
  return start(
    name,
    [WORKER, '--connect', url, '--name', name, '--log-format', 'json', '--cache-dir', tempDir('gradwire-cache-')],
    env,
  );
}

async function listening(c: Proc): Promise<string> {
  return `ws://127.0.0.1:${(await c.waitForEvent('listening', () => true, 30_000)).port as number}`;
}

async function rogue(url: string, name: string): Promise<Rogue> {
  const r = await Rogue.connect(url, { name });
  rogues.push(r);
  return r;
}

function rejected(c: Proc, name: string): Promise<LogEvent> {
  return c.waitFor((e) => e.event === 'rejected' && e.name === name, `a "rejected" log line for ${name}`, 15_000);
}

function errorsSent(r: Rogue): Array<Extract<ToWorker, { type: 'error' }>> {
  return r.all.filter((m): m is Extract<ToWorker, { type: 'error' }> => m.type === 'error');
}

describe.skipIf(!haveWasm)('wasm-simd: the kernel build decides, not the runtime', () => {
  let reference = '';
  beforeAll(async () => {
    reference = await inProcess('wasm-simd');
  });

  it('a worker on another Node.js patch release (another V8) with the same kernel build joins, and the run ends with the in-process weights', async () => {
    const out = tempDir();
    const c = startCoordinator(out, 'wasm-simd', 2);
    const url = await listening(c);
    const patched = startWorker(url, 'patched', { GRADWIRE_KERNELS: 'wasm-simd', ...OTHER_RELEASE });
    const same = startWorker(url, 'same', { GRADWIRE_KERNELS: 'wasm-simd' });
    // accepted: the join is logged with the worker's own Node.js and V8, and says they differ
    const joined = await c.waitForEvent('worker-joined', (e) => e.name === 'patched');
    expect(joined).toMatchObject({
      kernel: 'wasm-simd',
      kernelBuild: wasmBuild,
      node: OTHER_NODE,
      v8: OTHER_V8,
      sameRuntime: false,
    });
    expect(joined.msg).toMatch(
      new RegExp(
        `Node ${OTHER_NODE.replace(/\./g, '\\.')}; the coordinator runs Node ${process.versions.node.replace(/\./g, '\\.')}: the same results`,
      ),
    );
    expect(await c.waitForEvent('worker-joined', (e) => e.name === 'same')).toMatchObject({
      sameRuntime: true,
      kernelBuild: wasmBuild,
    });
    // both compute steps; the weights are those of in-process training, bit for bit
    expect(await c.exited).toBe(0);
    expect(await patched.exited).toBe(0);
    expect(await same.exited).toBe(0);
    const s = summary(out);
    expect(s.workers).toBe(2);
    expect(s.steps).toBe(STEPS);
    expect(s.weightsSha256).toBe(reference);
    expect(c.events.filter((e) => e.event === 'rejected')).toEqual([]);
    // ...and the worker on the other release computed its share of the steps
    expect((await patched.waitForEvent('job-done')).steps).toBeGreaterThan(0);
  }, 60_000);

  it('a worker with another kernel build is refused, naming the field, both hashes and what to do; the run goes on unchanged', async () => {
    const out = tempDir();
    const c = startCoordinator(out, 'wasm-simd', 1);
    const url = await listening(c);
    const other = 'ab'.repeat(32);
    const r = await rogue(url, 'other-build');
    // also on another Node.js: the build is what is refused
    await r.hello({ runtime: runtime({ kernelBuild: other, node: OTHER_NODE, v8: OTHER_V8 }) });
    expect((await r.closed).code).toBe(4006);
    const told = errorsSent(r);
    expect(told.map((m) => m.code)).toEqual(['E_INCOMPATIBLE']);
    expect(told[0]!.message).toBe(
      `runs another build of the wasm-simd kernels: kernel build ${other}, the coordinator's is ${wasmBuild} (sha256 of shared/kernels/build/kernels.wasm); ` +
        'another build can give other bits, so exact results need the same one: run the same gradwire version on both sides, with kernels built by ' +
        'the same AssemblyScript (npm ci, or the same container image), and compare with sha256sum shared/kernels/build/kernels.wasm',
    );
    const line = await rejected(c, 'other-build');
    expect(line).toMatchObject({
      level: 50,
      code: 'E_INCOMPATIBLE',
      field: 'kernelBuild',
      workerValue: other,
      coordinatorValue: wasmBuild,
    });
    expect(line.msg).toContain(told[0]!.message);
    // a real worker then trains to the in-process weights
    startWorker(url, 'good', { GRADWIRE_KERNELS: 'wasm-simd' });
    expect(await c.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference);
  }, 60_000);
});

describe("js: the runtime's elementary functions matter", () => {
  let reference = '';
  beforeAll(async () => {
    reference = await inProcess('js');
  });

  it('a js worker on another V8 is refused naming both versions and exits 2; so is one with another math fingerprint; one on another Node.js build of the same V8 joins; the run ends with the js in-process weights', async () => {
    const out = tempDir();
    const c = startCoordinator(out, 'js', 1);
    const url = await listening(c);
    // a real worker on another patch release: refused, and it gives up (exit 2) saying why
    const patched = startWorker(url, 'patched', { GRADWIRE_KERNELS: 'js', ...OTHER_RELEASE });
    const line = await rejected(c, 'patched');
    const v8Message =
      `runs V8 ${OTHER_V8} (Node ${OTHER_NODE}); the coordinator runs V8 ${process.versions.v8} (Node ${process.versions.node}). ` +
      "The js kernels call the runtime's Math.exp, Math.log, Math.tanh and friends, whose results may differ between V8 versions, so exact " +
      `results need the same Node.js on every machine: run Node ${process.versions.node} here, or the wasm-simd kernels everywhere ` +
      '(GRADWIRE_KERNELS=wasm-simd: they bring their own elementary functions and need only the same kernel build)';
    expect(line).toMatchObject({
      level: 50,
      code: 'E_INCOMPATIBLE',
      field: 'v8',
      workerValue: OTHER_V8,
      coordinatorValue: process.versions.v8,
    });
    expect(line.msg).toContain(v8Message);
    expect(await patched.exited).toBe(2);
    expect((await patched.waitForEvent('fatal')).msg).toBe(`giving up: E_INCOMPATIBLE: ${v8Message}`);

    // the same V8 but elementary functions that give other results (another CPU, say): refused
    const odd = await rogue(url, 'other-math');
    await odd.hello({ runtime: runtime({ kernel: 'js', kernelBuild: '', math: '0123456789abcdef' }) });
    expect((await odd.closed).code).toBe(4006);
    expect(errorsSent(odd).map((m) => m.code)).toEqual(['E_INCOMPATIBLE']);
    expect(errorsSent(odd)[0]!.message).toMatch(
      new RegExp(
        `^its elementary functions \\(Math\\.exp, Math\\.log, Math\\.tanh, \\.\\.\\.\\) give other results than the coordinator's, although both run V8 .*: ` +
          `math fingerprint 0123456789abcdef, the coordinator's ${mathFingerprint()} .*or the wasm-simd kernels everywhere`,
      ),
    );
    expect(await rejected(c, 'other-math')).toMatchObject({
      field: 'math',
      workerValue: '0123456789abcdef',
      coordinatorValue: mathFingerprint(),
    });

    // another Node.js version string on the same V8 and math (a distribution's build): welcome
    const distro = await rogue(url, 'distro-build');
    await distro.hello({
      runtime: runtime({ kernel: 'js', kernelBuild: '', node: `${process.versions.node}-distro1` }),
    });
    await distro.next('welcome');
    await distro.next('job');
    distro.close();

    // a js worker on this very runtime trains to the js in-process weights
    const good = startWorker(url, 'good', { GRADWIRE_KERNELS: 'js' });
    expect(await c.exited).toBe(0);
    expect(await good.exited).toBe(0);
    expect(summary(out).weightsSha256).toBe(reference);
  }, 60_000);
});

describe('hellos of other protocol versions', () => {
  it('a protocol-2 worker (runtime without kernelBuild and math) gets the protocol-version refusal; a hello of this version without them is a bad frame', async () => {
    const c = startCoordinator(tempDir(), 'auto', 1);
    const url = await listening(c);
    const old = await rogue(url, 'protocol-2');
    await old.next('challenge');
    old.sendRaw(
      encode({
        type: 'hello',
        protocol: 2,
        name: 'protocol-2',
        runtime: { node: process.versions.node, v8: process.versions.v8, kernel: kernelVariant() },
      }),
    );
    expect((await old.closed).code).toBe(4001);
    expect(errorsSent(old)[0]!.message).toBe(
      `speaks protocol version 2; this coordinator speaks ${PROTOCOL_VERSION}: run the same gradwire version on both sides`,
    );

    const partial = await rogue(url, 'no-build');
    await partial.next('challenge');
    partial.sendRaw(
      encode({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        name: 'no-build',
        runtime: { node: process.versions.node, v8: process.versions.v8, kernel: kernelVariant() },
      }),
    );
    expect((await partial.closed).code).toBe(4003);
    expect(errorsSent(partial)).toMatchObject([
      {
        code: 'E_BAD_FRAME',
        message: `invalid "hello" message: protocol ${PROTOCOL_VERSION} needs runtime.kernelBuild and runtime.math`,
      },
    ]);
    expect(PROTOCOL_VERSION).toBe(4);
  }, 30_000);
});
