// A private Docker engine for one test suite (root only): its own dockerd with its own data
// root, exec root and socket under a temporary folder, no default bridge and no iptables,
// forwarding or masquerading, so that it touches nothing of the machine's other containers
// and gives containers no way out. Networks the tests create must come from the test range
// 198.18.0.0/15, which `ensureTestRangeUnreachable` makes unroutable from the root namespace
// first. `stop` leaves no daemon, mount, bridge or file behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian's docker client (20.10, the engine's version): the other one on these machines,
 *  /usr/local/bin/docker (28.x), wants buildx for `docker build`. */
export const DOCKER_CLIENT = '/usr/bin/docker';

/** The path of an executable named `name` on PATH (plus the sbin folders), or null. */
export function which(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** What is missing to run containers here (one sentence), or null when nothing is. */
export function containersUnavailable(): string | null {
  if (process.platform !== 'linux') return 'the container tests need Linux';
  const missing: string[] = [];
  if (typeof process.getuid !== 'function' || process.getuid() !== 0)
    missing.push('root (they start their own dockerd and run debootstrap)');
  for (const [cmd, pkg] of [
    ['dockerd', 'docker.io'],
    ['docker-compose', 'docker-compose'],
    ['debootstrap', 'debootstrap'],
    ['ip', 'iproute2'],
    ['chroot', 'coreutils'],
  ] as const) {
    if (!which(cmd)) missing.push(`\`${cmd}\` (Debian package ${pkg})`);
  }
  if (!existsSync(DOCKER_CLIENT)) missing.push(`the docker client ${DOCKER_CLIENT} (Debian package docker.io)`);
  return missing.length ? `missing ${missing.join(', ')}` : null;
}

/** Make sure 198.18.0.0/15 is unreachable from the root namespace: addresses in it that the
 *  tests do not create locally can never be routed out of the machine. */
export function ensureTestRangeUnreachable(): void {
  const shown = spawnSync('ip', ['route', 'show', '198.18.0.0/15'], { encoding: 'utf8' });
  if (shown.status === 0 && shown.stdout.includes('unreachable')) return;
  const r = spawnSync('ip', ['route', 'add', 'unreachable', '198.18.0.0/15'], { encoding: 'utf8' });
  if (r.status !== 0 && !/File exists/.test(r.stderr))
    throw new Error(`ip route add unreachable 198.18.0.0/15 failed: ${r.stderr.trim()}`);
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  input?: string;
}

/** Run a command to the end without blocking the event loop (other phases run meanwhile). */
export function run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: o.cwd,
      env: o.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `\n(killed after ${o.timeoutMs} ms)`;
    }, o.timeoutMs ?? 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - t0 });
    });
    child.stdin.end(o.input ?? '');
  });
}

/** `run`, throwing with the command and the end of its output unless it exits 0. */
export async function must(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, o);
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout.slice(-3000)}\nstderr: ${r.stderr.slice(-3000)}`,
    );
  }
  return r;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class DockerEngine {
  /** DOCKER_HOST=unix://… for this engine, to pass to child commands */
  readonly host: string;
  private exited = false;
  private readonly exit: Promise<void>;

  private constructor(
    readonly root: string,
    private readonly daemon: ChildProcess,
    private readonly logFile: string,
  ) {
    this.host = `unix://${join(root, 'docker.sock')}`;
    this.exit = new Promise((resolve) =>
      daemon.on('exit', () => {
        this.exited = true;
        resolve();
      }),
    );
  }

  /** Start a dockerd of its own under a fresh temporary folder; resolves once it answers. */
  static async start(): Promise<DockerEngine> {
    const root = mkdtempSync('/tmp/gradwire-dockerd-');
    for (const d of ['data', 'exec']) mkdirSync(join(root, d));
    const logFile = join(root, 'dockerd.log');
    const log = openSync(logFile, 'a');
    // with setpriv, the daemon gets SIGTERM should this process die before stopping it
    const setpriv = which('setpriv');
    const dockerd = which('dockerd')!;
    const [cmd, pre] = setpriv ? [setpriv, ['--pdeathsig', 'TERM', dockerd]] : [dockerd, []];
    const daemon = spawn(
      cmd,
      [
        ...pre,
        '--data-root',
        join(root, 'data'),
        '--exec-root',
        join(root, 'exec'),
        '--host',
        `unix://${join(root, 'docker.sock')}`,
        '--pidfile',
        join(root, 'docker.pid'),
        // no default bridge, and nothing that would let containers reach beyond the machine
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
        '--ip-masq=false',
        '--ip-forward=false',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    const engine = new DockerEngine(root, daemon, logFile);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await run(DOCKER_CLIENT, ['version', '--format', '{{.Server.Version}}'], {
        env: engine.env(),
        timeoutMs: 10_000,
      });
      if (r.status === 0) return engine;
      if (engine.exited || Date.now() > deadline) {
        const why = `dockerd did not come up: ${r.stderr.trim()}\n${engine.logTail()}`;
        await engine.stop();
        throw new Error(why);
      }
      await sleep(250);
    }
  }

  /** The environment for child commands: this engine, the legacy builder, no stray GRADWIRE_* */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (!k.startsWith('GRADWIRE_') && !k.startsWith('COMPOSE_')) env[k] = v;
    return { ...env, DOCKER_HOST: this.host, DOCKER_BUILDKIT: '0', ...extra };
  }

  docker(args: string[], o: RunOptions = {}): Promise<RunResult> {
    return must(DOCKER_CLIENT, args, { ...o, env: o.env ?? this.env() });
  }

  /** `docker inspect --format '{{json …}}'`, parsed */
  async inspect<T = unknown>(target: string, path: string): Promise<T> {
    const r = await this.docker(['inspect', '--format', `{{json ${path}}}`, target]);
    return JSON.parse(r.stdout) as T;
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Stop the daemon (SIGTERM to its pid: it stops its containers and its containerd), then
   *  remove what it may leave behind: bridges of networks not removed, mounts under its root,
   *  and the root itself. */
  async stop(): Promise<void> {
    let bridges: string[] = [];
    if (!this.exited) {
      const nets = await run(DOCKER_CLIENT, ['network', 'ls', '--no-trunc', '--quiet', '--filter', 'driver=bridge'], {
        env: this.env(),
        timeoutMs: 10_000,
      });
      if (nets.status === 0)
        bridges = nets.stdout
          .split('\n')
          .filter(Boolean)
          .map((id) => `br-${id.slice(0, 12)}`);
      this.daemon.kill('SIGTERM');
      const stopped = await Promise.race([this.exit.then(() => true), sleep(60_000).then(() => false)]);
      if (!stopped) {
        this.daemon.kill('SIGKILL');
        await this.exit;
      }
    }
    const containerdPid = join(this.root, 'exec', 'containerd', 'containerd.pid');
    if (existsSync(containerdPid)) {
      const pid = Number(readFileSync(containerdPid, 'utf8').trim());
      try {
        if (pid > 0) process.kill(pid, 'SIGTERM');
      } catch {
        /* gone with dockerd */
      }
    }
    for (const br of bridges) spawnSync('ip', ['link', 'delete', br], { encoding: 'utf8' });
    // deepest first: e.g. exec/netns/default, which dockerd leaves mounted
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((p) => p.startsWith(`${this.root}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) spawnSync('umount', ['--lazy', m]);
    rmSync(this.root, { recursive: true, force: true });
  }
}
