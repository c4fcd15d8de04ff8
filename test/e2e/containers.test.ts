// Issue 5, containers: the image of deploy/Dockerfile and deploy/compose.yaml, for real. The
// suite starts a Docker engine of its own (test/helpers/docker.ts), builds stand-ins for the
// base images (no registry can be reached: test/e2e/containers/stand-in-base-images.sh), builds
// the image from the Dockerfile unchanged, and brings up the compose file's coordinator with
// two workers on an internal network in the test range 198.18.0.0/15, each limited to one CPU
// (GRADWIRE_WORKER_CPUS=1: GRADWIRE_THREADS=auto must read the container's quota, 1 thread, on a
// host with more CPUs). The run must end with exit 0 everywhere and the weights of the same
// config trained in-process on the host.
// Needs root, dockerd, docker-compose (1.29) and debootstrap; skipped, saying which is missing,
// otherwise. About 3 min with the base images cached in /tmp/gradwire-base-images, 4 without.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableCpus } from '../../shared/node/cpus.js';
import { CLI, NODE_ARGS, ROOT, tempDir } from '../helpers/cli.js';
import type { LogEvent } from '../helpers/cluster.js';
import {
  DOCKER_CLIENT,
  DockerEngine,
  containersUnavailable,
  ensureTestRangeUnreachable,
  must,
  run,
  which,
  type RunResult,
} from '../helpers/docker.js';

const skipReason = containersUnavailable();
if (skipReason) console.warn(`containers.test.ts skipped: ${skipReason}`);

const IMAGE = 'gradwire:test';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** the image deploy/compose.yaml (and the Kubernetes manifests) name: the package's version,
 *  never a floating tag; the test tags its build with it, compose builds nothing */
const COMPOSE_IMAGE = `gradwire:${VERSION}`;
/** the base images deploy/Dockerfile builds FROM (the stand-ins get exactly these names) */
const BASE_IMAGES = [...readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8').matchAll(/^FROM (\S+)/gm)].map(
  (m) => m[1]!,
);
const COMPOSE_FILE = join(ROOT, 'deploy/compose.yaml');
const STAND_INS = join(ROOT, 'test/e2e/containers/stand-in-base-images.sh');
/** compose.yaml's output folder, in the volume gradwire-data */
const OUT = '/data/runs/compose';
const UID = '10001';
// one /24 of the test range per run (two runs on one machine would otherwise share a subnet)
const SUBNET_PREFIX = `198.18.${8 + (process.pid % 200)}.`;
const SUBNET = `${SUBNET_PREFIX}0/25`;
const PROJECT = `gwtest${process.pid}`;
const VOLUME = `${PROJECT}_gradwire-data`;
// the second project (token from a secret file): its own /24 above the first
const SECRET_SUBNET = `198.18.${8 + (process.pid % 200)}.128/25`;
const SECRET_PROJECT = `${PROJECT}s`;
/** the long run under the manifests' limits: a /25 in the other half of the test range */
const SOAK_SUBNET = `198.19.${8 + (process.pid % 200)}.0/25`;
/** a small run for the second project: iris, a few seconds */
const IRIS = 'data: { name: iris }\nmodel: { hidden: [8] }\nbatchSize: 16\nepochs: 2\n';

/** summary.json fields that depend only on the config, not on how or where it was trained */
const RESULT_FIELDS = [
  'model',
  'paramCount',
  'dataset',
  'config',
  'steps',
  'epochs',
  'skippedSteps',
  'trainLoss',
  'trainAccuracy',
  'valLoss',
  'valAccuracy',
  'testLoss',
  'testAccuracy',
  'weightsSha256',
] as const;

type Summary = Record<string, unknown>;
const pick = (s: Summary): Summary => Object.fromEntries(RESULT_FIELDS.map((k) => [k, s[k]]));

const timings: Array<[string, number]> = [];
async function timed<T>(phase: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await f();
  } finally {
    const ms = Date.now() - t0;
    timings.push([phase, ms]);
    console.log(`containers: ${phase}: ${(ms / 1000).toFixed(1)} s`);
  }
}

/** a host port that was free a moment ago (compose.yaml's GRADWIRE_PORT, in case it is published) */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function jsonLines(text: string): LogEvent[] {
  return text.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as LogEvent];
    } catch {
      return [];
    }
  });
}

/** A config (the default run without one) trained in-process on the host: the reference
 *  (opens no socket). */
async function referenceRun(out: string, config?: string): Promise<Summary> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GRADWIRE_')) env[k] = v;
  await must(
    process.execPath,
    [
      ...NODE_ARGS,
      CLI,
      'train',
      '--in-process',
      '--out',
      out,
      '--log-format',
      'json',
      '--log-level',
      'debug',
      ...(config ? ['--config', config] : []),
    ],
    { cwd: ROOT, env: { ...env, FORCE_COLOR: '0' }, timeoutMs: 600_000 },
  );
  return JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
}

/** compose's default network for a project: internal (no gateway out), addresses from the test range */
function internalNetwork(file: string, subnet: string): string {
  writeFileSync(
    file,
    `# written by test/e2e/containers.test.ts
networks:
  default:
    internal: true
    ipam:
      config:
        - subnet: ${subnet}
`,
  );
  return file;
}

describe.skipIf(skipReason !== null)('the container image (deploy/Dockerfile) and deploy/compose.yaml', () => {
  let engine: DockerEngine | undefined;
  let reference: Promise<Summary>;
  let scratch: string | undefined;
  let override = '';
  let secretOverride = '';
  let composeEnv: NodeJS.ProcessEnv = {};
  const projectsUsed = new Set<string>();

  /** docker-compose on deploy/compose.yaml for a project (default: the main one) */
  const compose = (
    args: string[],
    timeoutMs = 180_000,
    p: { project: string; override: string; env: NodeJS.ProcessEnv } = {
      project: PROJECT,
      override,
      env: composeEnv,
    },
  ): Promise<RunResult> => {
    projectsUsed.add(p.project);
    return run(which('docker-compose')!, ['-p', p.project, '-f', COMPOSE_FILE, '-f', p.override, ...args], {
      cwd: ROOT,
      env: p.env,
      timeoutMs,
    });
  };
  const composeMust = async (
    args: string[],
    timeoutMs?: number,
    p?: Parameters<typeof compose>[2],
  ): Promise<RunResult> => {
    const r = await compose(args, timeoutMs, p);
    if (r.status !== 0)
      throw new Error(
        `docker-compose ${args.join(' ')} exited ${r.status}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`,
      );
    return r;
  };
  /** a command in a throwaway container of the image, with no network at all */
  const inImage = (entrypoint: string, args: string[], volume?: string): Promise<RunResult> =>
    engine!.docker([
      'run',
      '--rm',
      '--network',
      'none',
      ...(volume ? ['-v', `${volume}:/data`] : []),
      '--entrypoint',
      entrypoint,
      IMAGE,
      ...args,
    ]);

  beforeAll(async () => {
    scratch = tempDir('gradwire-containers-');
    override = internalNetwork(join(scratch, 'compose.internal.yaml'), SUBNET);
    secretOverride = internalNetwork(join(scratch, 'compose.secret.yaml'), SECRET_SUBNET);
    // safety before anything is created: the test range is never routed out of the machine
    ensureTestRangeUnreachable();
    engine = await timed('start dockerd', () => DockerEngine.start());
    composeEnv = engine.env({
      GRADWIRE_TOKEN: randomBytes(32).toString('hex'),
      GRADWIRE_PORT: String(await freePort()),
      // each worker container gets 1 CPU (compose's cpus:): its auto threads must read that quota
      GRADWIRE_WORKER_CPUS: '1',
    });
    // ≈ 1 min on one core, meanwhile the images are built
    reference = timed('reference run, in-process on the host (in parallel)', () =>
      referenceRun(join(scratch!, 'reference')),
    );
    reference.catch(() => {
      /* reported by the test that awaits it */
    });

    const standIns = await timed(`stand-in base images ${BASE_IMAGES.join(', ')}`, () =>
      must('bash', [STAND_INS], {
        env: { ...engine!.env(), DOCKER: DOCKER_CLIENT, NODE: process.execPath },
        timeoutMs: 600_000,
      }),
    );
    for (const line of standIns.stdout.trim().split('\n').filter(Boolean)) console.log(`containers:   ${line}`);

    // npm ci inside the build reaches the npm registry through the host's network
    const proxyArgs = ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY']
      .filter((k) => process.env[k])
      .flatMap((k) => ['--build-arg', `${k}=${process.env[k]}`]);
    await timed('docker build -f deploy/Dockerfile', () =>
      engine!.docker(['build', '--network=host', ...proxyArgs, '-f', 'deploy/Dockerfile', '-t', IMAGE, '.'], {
        cwd: ROOT,
        timeoutMs: 900_000,
      }),
    );
    await engine.docker(['tag', IMAGE, COMPOSE_IMAGE]);
  }, 1_200_000);

  afterAll(async () => {
    const t0 = Date.now();
    try {
      if (engine) {
        for (const [project, file] of [
          [PROJECT, override],
          [SECRET_PROJECT, secretOverride],
        ] as const) {
          if (!projectsUsed.has(project)) continue;
          const down = await compose(['down', '--volumes', '--remove-orphans', '--timeout', '10'], 120_000, {
            project,
            override: file,
            env: engine.env(),
          });
          if (down.status !== 0)
            console.warn(`containers: docker-compose down (${project}) failed: ${down.stderr.slice(-2000)}`);
        }
        await run(DOCKER_CLIENT, ['rmi', '--force', COMPOSE_IMAGE, IMAGE, ...BASE_IMAGES], {
          env: engine.env(),
          timeoutMs: 120_000,
        });
      }
    } finally {
      await engine?.stop();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
      timings.push(['teardown (down -v, rmi, stop dockerd)', Date.now() - t0]);
      console.log(
        `containers: phases\n${timings.map(([p, ms]) => `  ${(ms / 1000).toFixed(1).padStart(6)} s  ${p}`).join('\n')}`,
      );
    }
  }, 300_000);

  it('docker-compose accepts deploy/compose.yaml with an override; workers scale (no name, no host port) and wait for a healthy coordinator', async () => {
    const r = await timed('docker-compose config', () => composeMust(['config']));
    const config = parseYaml(r.stdout) as {
      services: Record<string, Record<string, unknown>>;
      networks: Record<string, { internal?: boolean; ipam?: { config: Array<{ subnet: string }> } }>;
    };
    const { coordinator, worker } = config.services;
    expect(coordinator).toMatchObject({
      image: COMPOSE_IMAGE,
      command: ['coordinator'],
      build: { dockerfile: 'deploy/Dockerfile' },
    });
    expect(coordinator!.healthcheck).toMatchObject({ test: ['CMD', 'gradwire', 'health'] });
    expect(coordinator!.volumes).toContain('gradwire-data:/data:rw');
    // the coordinator's port, if published at all, only on the host's loopback
    for (const p of (coordinator!.ports ?? []) as string[]) expect(p).toMatch(/^127\.0\.0\.1:/);
    expect(worker).toMatchObject({
      image: COMPOSE_IMAGE,
      command: ['worker'],
      depends_on: { coordinator: { condition: 'service_healthy' } },
    });
    expect(worker!.environment).toMatchObject({
      GRADWIRE_CONNECT: 'ws://coordinator:7070',
      GRADWIRE_TOKEN: composeEnv.GRADWIRE_TOKEN,
      GRADWIRE_THREADS: 'auto',
    });
    // one worker per container, its threads from the container's CPU limit
    expect(worker!.cpus).toBe(1);
    expect(worker).not.toHaveProperty('container_name');
    expect(worker).not.toHaveProperty('ports');
    expect(config.networks.default).toMatchObject({
      internal: true,
      ipam: { config: [{ subnet: SUBNET }] },
    });

    // the token: GRADWIRE_TOKEN, or a file on the host mounted as the secret gradwire_token
    // (unset: /dev/null, empty, and gradwire falls back to GRADWIRE_TOKEN)
    for (const service of [coordinator, worker]) {
      expect(service!.secrets).toEqual([{ source: 'gradwire_token' }]);
      expect(service!.environment).toMatchObject({ GRADWIRE_TOKEN_FILE: '/run/secrets/gradwire_token' });
    }
    expect((config as unknown as { secrets: unknown }).secrets).toEqual({
      gradwire_token: { file: '/dev/null' },
    });
  });

  it('the image runs `gradwire` as uid 10001 in /data: ENTRYPOINT, CMD train, VOLUME, port 7070, HEALTHCHECK gradwire health', async () => {
    const config = await engine!.inspect<Record<string, unknown>>(IMAGE, '.Config');
    expect(config).toMatchObject({
      User: `${UID}:${UID}`,
      Entrypoint: ['gradwire'],
      Cmd: ['train'],
      WorkingDir: '/data',
      Volumes: { '/data': {} },
      ExposedPorts: { '7070/tcp': {} },
      Healthcheck: {
        Test: ['CMD', 'gradwire', 'health'],
        Interval: 10e9,
        Timeout: 5e9,
        StartPeriod: 30e9,
        Retries: 3,
      },
    });
    expect(config.Env).toEqual(
      expect.arrayContaining([
        'NODE_ENV=production',
        'GRADWIRE_STATUS_FILE=/tmp/gradwire.status',
        'GRADWIRE_CACHE=/tmp/gradwire-cache',
      ]),
    );

    expect((await inImage('id', ['-u'])).stdout.trim()).toBe(UID);
    expect((await engine!.docker(['run', '--rm', '--network', 'none', IMAGE, '--help'])).stdout).toMatch(
      /^gradwire — /,
    );
    // only what runs: the compiled program and its production dependencies (no sources, no tests)
    expect((await inImage('ls', ['/app'])).stdout.split('\n').filter(Boolean)).toEqual([
      'bin',
      'dist',
      'node_modules',
      'package.json',
    ]);
    expect((await inImage('ls', ['/app/node_modules'])).stdout.split('\n')).not.toContain('typescript');
    // better-sqlite3 (the sweep store) was compiled in the build stage and loads in the runtime image
    const sqlite = await inImage('node', [
      '-e',
      "const D = require('/app/node_modules/better-sqlite3'); console.log(new D(':memory:').prepare('select 1 + 1 as two').get().two)",
    ]);
    expect(sqlite.stdout.trim()).toBe('2');
    // with no gradwire process running, the health check fails
    const health = await run(DOCKER_CLIENT, ['run', '--rm', '--network', 'none', IMAGE, 'health'], {
      env: engine!.env(),
    });
    expect(health.status).toBe(1);
  });

  it('docker run IMAGE trains the default run with no config (CMD train), is healthy meanwhile, and docker stop checkpoints it and exits 143 (stopped, not done)', async () => {
    // an anonymous volume at /data, no network: `train` computes on the container's CPUs in
    // threads of its own process (no sockets) and serves its dashboard on loopback
    const id = (
      await engine!.docker(['run', '--detach', '--network', 'none', '--env', 'GRADWIRE_LOG_LEVEL=debug', IMAGE])
    ).stdout.trim();
    try {
      const deadline = Date.now() + 90_000;
      let events: LogEvent[] = [];
      while (!events.some((e) => e.event === 'step' && (e.step as number) >= 5)) {
        if (Date.now() > deadline)
          throw new Error(`no step 5 within 90 s; last lines:\n${JSON.stringify(events.slice(-8), null, 1)}`);
        await sleep(1000);
        events = jsonLines((await engine!.docker(['logs', id])).stdout);
      }
      expect(events.find((e) => e.event === 'start' || e.event === 'resume')).toMatchObject({
        model: '784-256-128-10',
        dataset: 'MNIST, 10,000-digit subset',
      });
      const health = await run(DOCKER_CLIENT, ['exec', id, 'gradwire', 'health'], { env: engine!.env() });
      expect(health.status, health.stdout + health.stderr).toBe(0);

      await timed('docker stop (default run, checkpoint on SIGTERM)', () =>
        engine!.docker(['stop', '--time', '30', id]),
      );
      expect(await engine!.inspect(id, '.State.ExitCode')).toBe(143);
      const outputs = await engine!.docker([
        'run',
        '--rm',
        '--network',
        'none',
        '--volumes-from',
        id,
        '--entrypoint',
        'sh',
        IMAGE,
        '-c',
        'ls /data/runs/*/',
      ]);
      expect(outputs.stdout.split('\n')).toContain('checkpoint.gwc');
    } finally {
      await run(DOCKER_CLIENT, ['rm', '--force', '--volumes', id], { env: engine!.env() });
    }
  }, 180_000);

  it('docker-compose up --scale worker=2: workers start once the coordinator is healthy, the run ends with exit 0 everywhere and the in-process weights', async () => {
    await timed('docker-compose up -d (until the coordinator is healthy and the workers are created)', () =>
      composeMust(['up', '--detach', '--no-build', '--no-color', '--scale', 'worker=2'], 240_000),
    );
    const [coordinatorId] = (await composeMust(['ps', '-q', 'coordinator'])).stdout.split('\n').filter(Boolean);
    const workerIds = (await composeMust(['ps', '-q', 'worker'])).stdout.split('\n').filter(Boolean);
    expect(coordinatorId).toBeTruthy();
    expect(workerIds).toHaveLength(2);

    // compose started the workers only once the coordinator's health check had passed
    type Health = { Status: string; Log: Array<{ End: string; ExitCode: number; Output: string }> };
    const health = await engine!.inspect<Health>(coordinatorId!, '.State.Health');
    expect(health.Status).toBe('healthy');
    const firstHealthy = health.Log.find((h) => h.ExitCode === 0)!;
    expect(firstHealthy.Output).toMatch(/healthy/);
    for (const w of workerIds) {
      const started = await engine!.inspect<string>(w, '.State.StartedAt');
      expect(Date.parse(started)).toBeGreaterThanOrEqual(Date.parse(firstHealthy.End));
    }

    // the run: health sampled every 2 s until the coordinator exits
    const healthSeen = new Set<string>();
    let running = true;
    const sampler = (async () => {
      while (running) {
        const h = await run(
          DOCKER_CLIENT,
          ['inspect', '--format', '{{.State.Running}} {{.State.Health.Status}}', coordinatorId!],
          {
            env: engine!.env(),
          },
        );
        const [isRunning, status] = h.stdout.trim().split(' ');
        if (isRunning === 'true' && status) healthSeen.add(status);
        await sleep(2000);
      }
    })();
    const coordinatorExit = await timed('training run in compose (coordinator + 2 workers)', () =>
      engine!.docker(['wait', coordinatorId!], { timeoutMs: 420_000 }).finally(() => {
        running = false;
      }),
    );
    await sampler;
    const coordinatorLog = jsonLines((await engine!.docker(['logs', coordinatorId!])).stdout);
    expect(
      coordinatorExit.stdout.trim(),
      `coordinator exit code; its last lines:\n${JSON.stringify(coordinatorLog.slice(-8), null, 1)}`,
    ).toBe('0');
    expect([...healthSeen]).toEqual(['healthy']);

    // both workers joined over the compose network, computed the whole run, and exited 0
    const joined = coordinatorLog.filter((e) => e.event === 'worker-joined');
    expect(joined).toHaveLength(2);
    for (const j of joined) expect(String(j.address)).toContain(SUBNET_PREFIX);
    // GRADWIRE_THREADS=auto under cpus: 1 → one compute thread each, whatever the host's CPUs
    for (const j of joined) expect(j.threads ?? 1).toBe(1);
    for (const w of workerIds) {
      const exit = await engine!.docker(['wait', w], { timeoutMs: 60_000 });
      const log = jsonLines((await engine!.docker(['logs', w])).stdout);
      expect(
        exit.stdout.trim(),
        `worker ${w} exit code; its last lines:\n${JSON.stringify(log.slice(-8), null, 1)}`,
      ).toBe('0');
      expect(log.map((e) => e.event)).toEqual(expect.arrayContaining(['connected', 'welcome', 'job', 'job-done']));
    }
    // every container ran as the image's user, not root
    for (const id of [coordinatorId!, ...workerIds])
      expect(await engine!.inspect(id, '.Config.User')).toBe(`${UID}:${UID}`);

    // the outputs in the volume: written by uid 10001, the in-process run's results to the bit
    const owner = await inImage('stat', ['-c', '%u', `${OUT}/summary.json`], VOLUME);
    expect(owner.stdout.trim()).toBe(UID);
    const inCompose = JSON.parse((await inImage('cat', [`${OUT}/summary.json`], VOLUME)).stdout) as Summary;
    expect(inCompose).toMatchObject({ mode: 'distributed', workers: 2 });
    const ref = await reference;
    expect(pick(inCompose)).toEqual(pick(ref));
    console.log(
      `containers: weights ${String(inCompose.weightsSha256).slice(0, 16)}… test accuracy ${inCompose.testAccuracy}; ` +
        `train ${inCompose.trainSeconds} s in compose (2 workers), ${ref.trainSeconds} s in-process`,
    );
  }, 600_000);

  it('the token from a secret file (GRADWIRE_TOKEN unset) and a run config from the host: compose trains it to the in-process weights', async () => {
    const dir = tempDir('gradwire-compose-secret-');
    writeFileSync(join(dir, 'iris.yaml'), IRIS);
    writeFileSync(join(dir, 'token'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o644 });
    // no CPU limit here (GRADWIRE_WORKER_CPUS unset): the worker's threads are the host's CPUs
    const { GRADWIRE_TOKEN: _env, GRADWIRE_WORKER_CPUS: _cpus, ...env } = composeEnv;
    const p = {
      project: SECRET_PROJECT,
      override: secretOverride,
      env: {
        ...env,
        GRADWIRE_TOKEN_FILE: join(dir, 'token'),
        GRADWIRE_CONFIG: join(dir, 'iris.yaml'),
        GRADWIRE_MIN_WORKERS: '1',
        GRADWIRE_PORT: String(await freePort()),
      },
    };
    await timed('docker-compose up (token from a secret file, iris)', () =>
      composeMust(['up', '--detach', '--no-build', '--no-color', '--scale', 'worker=1'], 240_000, p),
    );
    const [coordinatorId] = (await composeMust(['ps', '-q', 'coordinator'], undefined, p)).stdout
      .split('\n')
      .filter(Boolean);
    const exit = await engine!.docker(['wait', coordinatorId!], { timeoutMs: 120_000 });
    const log = jsonLines((await engine!.docker(['logs', coordinatorId!])).stdout);
    expect(exit.stdout.trim(), JSON.stringify(log.slice(-8), null, 1)).toBe('0');
    expect(log.find((e) => e.event === 'listening')).toMatchObject({ auth: true });
    // no cpus: limit: auto gives the worker every CPU this machine lets a process use
    expect(log.find((e) => e.event === 'worker-joined')?.threads ?? 1).toBe(availableCpus());
    const summary = JSON.parse(
      (await inImage('cat', [`${OUT}/summary.json`], `${SECRET_PROJECT}_gradwire-data`)).stdout,
    ) as Summary;
    expect(pick(summary)).toEqual(pick(await referenceRun(join(dir, 'reference'), join(dir, 'iris.yaml'))));
  }, 300_000);

  it("a 5,000-step run under the Kubernetes manifests' limits (memory, read-only root, no capabilities, uid 10001) finishes without a restart, with the in-process weights", async () => {
    // the limits and mounts of deploy/k8s/run: the test fails if a manifest lowers a limit below
    // what a long run needs
    const limitsOf = (file: string): { memory: string; cpu: string } => {
      const job = parseYaml(readFileSync(join(ROOT, 'deploy/k8s/run', file), 'utf8')) as {
        spec: {
          template: { spec: { containers: Array<{ resources: { limits: { memory: string; cpu: string } } }> } };
        };
      };
      return job.spec.template.spec.containers[0]!.resources.limits;
    };
    const limitOf = (file: string): string => limitsOf(file).memory;
    const cpus = (k8s: string): string => {
      const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(String(k8s));
      if (!m) throw new Error(`cpu limit ${k8s}: expected N or Nm`);
      return String(m[2] ? Number(m[1]) / 1000 : Number(m[1]));
    };
    const dockerMemory = (k8s: string): string => {
      const m = /^(\d+)(Mi|Gi)$/.exec(k8s);
      if (!m) throw new Error(`memory limit ${k8s}: expected NMi or NGi`);
      return `${m[1]}${m[2] === 'Gi' ? 'g' : 'm'}`;
    };
    const limits = { coordinator: limitOf('coordinator.yaml'), worker: limitOf('worker.yaml') };
    // the workers as the manifests run them: the pod's CPU limit, GRADWIRE_THREADS=auto
    const workerCpus = cpus(limitsOf('worker.yaml').cpu);
    const workerThreads = Math.min(Math.ceil(Number(workerCpus)), availableCpus());
    const dir = tempDir('gradwire-soak-containers-');
    // 784-64-32-10 on MNIST, batch 32 (two microbatches: both workers compute every step), 20
    // epochs of 250 steps: the model with which the coordinator once grew by ≈ 1 GB over these steps
    writeFileSync(
      join(dir, 'run.yaml'),
      'seed: 3\ndata: { name: mnist }\nmodel: { hidden: [64, 32], activation: relu, init: he_normal, norm: batch, dropout: 0.2 }\n' +
        'optimizer: { name: adam, lr: 0.001 }\nbatchSize: 32\nmicrobatch: 16\nepochs: 20\n',
      { mode: 0o644 },
    );
    const secrets = tempDir('gradwire-soak-token-');
    // mounted into containers that run as uid 10001: the folders must be readable by it
    chmodSync(dir, 0o755);
    chmodSync(secrets, 0o755);
    writeFileSync(join(secrets, 'token'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o644 });
    const reference = referenceRun(join(dir, 'reference'), join(dir, 'run.yaml'));
    const network = `${PROJECT}soak`;
    const volume = `${PROJECT}soak-runs`;
    const names = {
      coordinator: `${PROJECT}-soak-coordinator`,
      workers: [1, 2].map((i) => `${PROJECT}-soak-worker-${i}`),
    };
    // as the manifests run them: uid 10001, read-only root with /tmp writable, no capabilities,
    // no privilege escalation, the token as a read-only file, memory limits without swap
    const hardened = (memory: string): string[] => [
      '--user',
      `${UID}:${UID}`,
      '--read-only',
      '--tmpfs',
      '/tmp:rw,size=256m',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '--memory',
      dockerMemory(memory),
      '--memory-swap',
      dockerMemory(memory),
      '--network',
      network,
      '-v',
      `${secrets}:/var/run/secrets/gradwire:ro`,
      '-e',
      'GRADWIRE_TOKEN_FILE=/var/run/secrets/gradwire/token',
    ];
    const peak: Record<string, number> = {};
    let sampling = true;
    try {
      await engine!.docker(['network', 'create', '--internal', '--subnet', SOAK_SUBNET, network]);
      await engine!.docker(['volume', 'create', volume]);
      // the volume's root belongs to root: let uid 10001 write its run there
      await engine!.docker([
        'run',
        '--rm',
        '--network',
        'none',
        '-v',
        `${volume}:/data/runs`,
        '--user',
        '0',
        '--entrypoint',
        'chown',
        IMAGE,
        `${UID}:${UID}`,
        '/data/runs',
      ]);
      await engine!.docker([
        'run',
        '--detach',
        '--name',
        names.coordinator,
        '--network-alias',
        'coordinator',
        ...hardened(limits.coordinator),
        '-v',
        `${volume}:/data/runs`,
        '-v',
        `${dir}:/config:ro`,
        IMAGE,
        'coordinator',
        '--config',
        '/config/run.yaml',
        '--listen',
        '0.0.0.0:7070',
        '--min-workers',
        '2',
        '--out',
        '/data/runs/soak',
        '--log-format',
        'json',
        '--log-level',
        'debug',
      ]);
      for (const w of names.workers) {
        await engine!.docker([
          'run',
          '--detach',
          '--name',
          w,
          ...hardened(limits.worker),
          '--cpus',
          workerCpus,
          '-e',
          'GRADWIRE_THREADS=auto',
          IMAGE,
          'worker',
          '--connect',
          'ws://coordinator:7070',
          '--name',
          w,
          '--log-format',
          'json',
        ]);
      }
      // peak memory of each container, sampled every 2 s from the engine's stats
      const sampler = (async () => {
        const mib = (v: string): number => {
          const m = /^([\d.]+)(B|KiB|MiB|GiB)$/.exec(v.trim());
          return m ? Number(m[1]) * { B: 1 / 2 ** 20, KiB: 1 / 1024, MiB: 1, GiB: 1024 }[m[2] as 'B'] : 0;
        };
        while (sampling) {
          const st = await run(
            DOCKER_CLIENT,
            ['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', names.coordinator, ...names.workers],
            { env: engine!.env(), timeoutMs: 30_000 },
          );
          for (const line of st.stdout.trim().split('\n').filter(Boolean)) {
            const [name, usage] = line.split(' ', 2) as [string, string];
            peak[name] = Math.max(peak[name] ?? 0, mib(usage.split(' / ')[0]!));
          }
          await sleep(2000);
        }
      })();
      const exit = await timed("5,000 steps in containers under the manifests' limits", () =>
        engine!.docker(['wait', names.coordinator], { timeoutMs: 900_000 }).finally(() => {
          sampling = false;
        }),
      );
      await sampler;
      const logs = await run(DOCKER_CLIENT, ['logs', names.coordinator], { env: engine!.env() });
      const log = jsonLines(logs.stdout);
      expect(exit.stdout.trim(), `${JSON.stringify(log.slice(-8), null, 1)}\n${logs.stderr.slice(-2000)}`).toBe('0');
      for (const name of [names.coordinator, ...names.workers]) {
        const state = await engine!.inspect<{ OOMKilled: boolean; ExitCode: number }>(name, '.State');
        if (name !== names.coordinator) await engine!.docker(['wait', name], { timeoutMs: 60_000 });
        expect(state.OOMKilled, `${name} was killed for memory`).toBe(false);
        expect(await engine!.inspect(name, '.RestartCount')).toBe(0);
        expect(await engine!.inspect(name, '.State.ExitCode')).toBe(0);
      }
      // one run from step 0 to 5,000: never resumed
      expect(log.filter((e) => e.event === 'resume')).toHaveLength(0);
      // each worker with the threads its CPU limit gives (capped by this machine's CPUs)
      const joined = log.filter((e) => e.event === 'worker-joined');
      expect(joined).toHaveLength(2);
      for (const j of joined) expect(j.threads ?? 1).toBe(workerThreads);
      const summary = JSON.parse(
        (
          await engine!.docker([
            'run',
            '--rm',
            '--network',
            'none',
            '-v',
            `${volume}:/data/runs`,
            '--entrypoint',
            'cat',
            IMAGE,
            '/data/runs/soak/summary.json',
          ])
        ).stdout,
      ) as Summary;
      expect(summary).toMatchObject({ mode: 'distributed', workers: 2, steps: 5000, resumedFromStep: 0 });
      expect(pick(summary)).toEqual(pick(await reference));
      console.log(
        `containers: 5,000 steps, limits coordinator ${limits.coordinator} / worker ${limits.worker} and ${workerCpus} CPUs (${workerThreads} threads); peak memory (MiB, sampled every 2 s): ` +
          Object.entries(peak)
            .map(([n, v]) => `${n.replace(`${PROJECT}-soak-`, '')} ${v.toFixed(0)}`)
            .join(', ') +
          `; train ${summary.trainSeconds} s`,
      );
    } finally {
      sampling = false;
      await run(DOCKER_CLIENT, ['rm', '--force', names.coordinator, ...names.workers], {
        env: engine!.env(),
      });
      await run(DOCKER_CLIENT, ['volume', 'rm', '--force', volume], { env: engine!.env() });
      await run(DOCKER_CLIENT, ['network', 'rm', network], { env: engine!.env() });
      rmSync(secrets, { recursive: true, force: true });
    }
  }, 1_200_000);

  it('with neither GRADWIRE_TOKEN nor a token file, a coordinator listening beyond loopback refuses to start and says what to set', async () => {
    const r = await run(
      DOCKER_CLIENT,
      [
        'run',
        '--rm',
        '--network',
        'none',
        '-e',
        'GRADWIRE_TOKEN_FILE=/dev/null',
        IMAGE,
        'coordinator',
        '--listen',
        '0.0.0.0:7070',
      ],
      { env: engine!.env() },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/GRADWIRE_TOKEN_FILE \/dev\/null is empty and GRADWIRE_TOKEN is unset/);
  });
});
