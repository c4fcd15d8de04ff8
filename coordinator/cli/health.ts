// `gradwire health`: is this container's gradwire process alive (or ready)? Run every 10 s by
// the image's HEALTHCHECK, so it loads only this file, cli/common.ts and shared/: no SQLite,
// metrics, server or reports.
import { STATUS_ENV } from '../../shared/health.js';
import { UserError } from '../../shared/errors.js';
import { checkHealth } from './check-health.js';
import { parse, runCommand, seconds } from './common.js';

const HEALTH_HELP = `gradwire health — is the gradwire process of this container alive (or ready)?

Usage: gradwire health [--ready] [--status-file FILE] [--max-age S]
       gradwire health --url http://HOST:PORT/healthz

Every long-running gradwire process (coordinator, worker, train, sweep) rewrites the file
named by GRADWIRE_STATUS_FILE every 5 s. This check exits 0 when that file is fresh and, for
a coordinator, its /healthz answers 200; else 1. It prints one line saying why. The container
image sets GRADWIRE_STATUS_FILE and runs this as its HEALTHCHECK; a Kubernetes exec probe can too.

With --ready it is a readiness check: a worker must also be connected to a coordinator and
hold its job (dataset loaded, model built); a coordinator is ready when it is healthy.
It prints "ready: ..." or "not ready: ..." (a Kubernetes readinessProbe).

Options:
  --ready                readiness instead of liveness (see above)
  --status-file FILE     the status file (default: GRADWIRE_STATUS_FILE)
  --max-age S            oldest acceptable status, seconds (default 30)
  --url URL              instead: GET this health URL (e.g. a coordinator's /healthz)
  --timeout S            how long to wait for an answer (default 5)
  -h, --help             this help
`;

export async function health(args: string[]): Promise<number> {
  const v = parse(args, {
    'status-file': { type: 'string' },
    'max-age': { type: 'string' },
    url: { type: 'string' },
    timeout: { type: 'string' },
    ready: { type: 'boolean' },
  });
  if (v.help) {
    process.stdout.write(HEALTH_HELP);
    return 0;
  }
  const ready = v.ready === true;
  if (ready && v.url !== undefined)
    throw new UserError('USAGE', '--ready reads the status file; --url asks a URL instead: give one of them');
  const r = await checkHealth({
    statusFile: (v['status-file'] as string | undefined) ?? process.env[STATUS_ENV] ?? null,
    url: (v.url as string | undefined) ?? null,
    maxAgeMs: seconds('--max-age', v['max-age'] as string | undefined, 30) * 1000,
    timeoutMs: seconds('--timeout', v.timeout as string | undefined, 5) * 1000,
    ready,
  });
  const [yes, no] = ready ? ['ready', 'not ready'] : ['healthy', 'unhealthy'];
  process.stdout.write(`${r.ok ? yes : no}: ${r.message}\n`);
  return r.ok ? 0 : 1;
}

/** bin/gradwire.js: `gradwire health ARGS` */
export function healthMain(args: string[]): void {
  runCommand(() => health(args));
}
