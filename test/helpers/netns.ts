// Separate "hosts" on one machine with Linux network namespaces (root only): a switch
// namespace holding a bridge, and one host namespace per machine with a veth into it.
// Addresses come from 198.18.0.0/24 (the benchmarking range); host namespaces get no default
// route and the root namespace only gets `unreachable 198.18.0.0/15`, so nothing can leave
// the machine. Every process runs inside its namespace (`ip netns exec NS node ...`).
import { spawn, spawnSync } from 'node:child_process';
import { NODE_ARGS, ROOT } from './cli.js';
import { Proc } from './cluster.js';

const SUBNET = '198.18.0';

function ip(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

function must(args: string[]): string {
  const r = ip(args);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Why namespaces cannot be used here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'network namespaces need root';
  const r = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return '`ip` (iproute2) is not installed';
  return null;
}

export interface Host {
  /** the host's namespace */
  ns: string;
  /** its address on the bridge */
  address: string;
  /** its veth port in the switch namespace (set it down to cut the host off) */
  port: string;
}

export class Net {
  readonly switchNs: string;
  readonly hosts: Host[] = [];
  private readonly procs: Proc[] = [];
  private readonly created: string[] = [];

  /** `count` hosts at 198.18.0.1 .. 198.18.0.<count>, named PREFIX-h0 .. PREFIX-h<count-1>. */
  constructor(
    count: number,
    readonly prefix = `gw${process.pid}-`,
  ) {
    if (count < 1 || count > 200) throw new Error(`host count ${count} out of range`);
    // safety first: 198.18.0.0/15 must never be routed out of the machine
    if (!ip(['route', 'show', '198.18.0.0/15']).stdout.includes('unreachable')) {
      must(['route', 'add', 'unreachable', '198.18.0.0/15']);
    }
    this.switchNs = `${prefix}sw`;
    try {
      this.addNs(this.switchNs);
      must(['-n', this.switchNs, 'link', 'set', 'lo', 'up']);
      must(['-n', this.switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
      must(['-n', this.switchNs, 'link', 'set', 'br0', 'up']);
      for (let i = 0; i < count; i++) {
        const ns = `${prefix}h${i}`;
        const port = `p${i}`;
        const address = `${SUBNET}.${i + 1}`;
        this.addNs(ns);
        // both ends are created in the switch namespace, then one moves: the root namespace
        // never sees either
        must(['-n', this.switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0']);
        must(['-n', this.switchNs, 'link', 'set', 'eth0', 'netns', ns]);
        must(['-n', this.switchNs, 'link', 'set', port, 'master', 'br0']);
        must(['-n', this.switchNs, 'link', 'set', port, 'up']);
        must(['-n', ns, 'link', 'set', 'lo', 'up']);
        must(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
        must(['-n', ns, 'link', 'set', 'eth0', 'up']);
        this.hosts.push({ ns, address, port });
      }
    } catch (e) {
      this.teardown();
      throw e;
    }
  }

  private addNs(name: string): void {
    must(['netns', 'add', name]);
    this.created.push(name);
  }

  /** host i's routing table (`ip -n NS route show [ARGS]`) */
  routes(i: number, ...args: string[]): string {
    return must(['-n', this.hosts[i]!.ns, 'route', 'show', ...args]);
  }

  /** Cut host i off the bridge (its switch port down) or reconnect it. */
  link(i: number, state: 'up' | 'down'): void {
    must(['-n', this.switchNs, 'link', 'set', this.hosts[i]!.port, state]);
  }

  /** `node ARGS` (with tsx's loader when the tests run the sources) inside host i's namespace, cwd the repo root; stdout read as JSON lines. */
  run(i: number, name: string, args: string[]): Proc {
    // `ip netns exec` execs node after entering the namespace: the child's pid is node's
    const child = spawn('ip', ['netns', 'exec', this.hosts[i]!.ns, process.execPath, ...NODE_ARGS, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    const p = new Proc(name, child);
    this.procs.push(p);
    return p;
  }

  /** Kill the processes started here, then delete every namespace (idempotent). */
  async close(): Promise<void> {
    for (const p of this.procs.splice(0)) {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
      await p.exited;
    }
    this.teardown();
  }

  private teardown(): void {
    const errors: string[] = [];
    for (const ns of this.created.splice(0).reverse()) {
      const r = ip(['netns', 'del', ns]);
      if (r.status !== 0) errors.push(`${ns}: ${r.stderr.trim()}`);
    }
    if (errors.length) throw new Error(`ip netns del failed: ${errors.join('; ')}`);
  }
}
