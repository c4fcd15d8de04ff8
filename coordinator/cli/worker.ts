// `gradwire worker` reached through this dispatcher (node coordinator/cli/main.ts worker): the
// worker runs in its own process (worker/main.ts), as the coordinator's code and the worker's
// never import each other. bin/gradwire.js runs `gradwire worker` in its own process directly.
import { spawnWorker } from '../cluster/pool.js';

/** `gradwire worker` runs worker/main.ts in its own process: the coordinator's code and the
 *  worker's never share a process (and never import each other). */
export function worker(args: string[]): Promise<number> {
  const child = spawnWorker(args, 'inherit');
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  return new Promise((res) => child.on('exit', (code, signal) => res(code ?? (signal ? 1 : 0))));
}
