// Shared plumbing of the command files: flag parsing, the whole-number and duration checks, the
// exit code of a run a signal stopped, and the one place that turns a command's result or error
// into the process's exit code. Light on purpose: `gradwire health` loads it.
import { constants as osConstants } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { secondsOrNull, secondsProblem } from '../../shared/durations.js';
import { UserError, isUserError } from '../../shared/errors.js';
import { logLevelProblem } from '../../shared/log-levels.js';
import type { LogFormat } from '../../shared/node/log.js';

export const COMMON = `  --log-format F         auto (pretty on a terminal, JSON otherwise) | json | pretty
  --log-level L          debug (adds one line per step) | info | warn | error (default info)
                         [GRADWIRE_LOG_LEVEL]
  --debug                show stack traces of errors
  -h, --help             this help`;

export type Values = Record<string, string | boolean | undefined>;

/** the log formats of --log-format (cli/log.ts makes the logger) */
export type { LogFormat } from '../../shared/node/log.js';

/**
 * The exit code of a run that a signal stopped before its outputs were written: 128 + the
 * signal's number (143 for SIGTERM, 130 for SIGINT), as a shell reports a process the signal
 * ended — so that a Kubernetes Job, compose or a script never takes a stopped run for a
 * finished one. Watch before the run starts; `code()` after it returned without a summary.
 */
export function watchStopSignal(): { code(): number } {
  let by: 'SIGTERM' | 'SIGINT' | null = null;
  for (const sig of ['SIGTERM', 'SIGINT'] as const)
    process.once(sig, () => {
      by ??= sig;
    });
  return { code: () => 128 + osConstants.signals[by ?? 'SIGTERM'] };
}

const LOG_OPTIONS: ParseArgsConfig['options'] = {
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export function parse(args: string[], options: ParseArgsConfig['options']): Values {
  return parseWithPositionals(args, options, false).values;
}

export function parseWithPositionals(
  args: string[],
  options: ParseArgsConfig['options'],
  allowPositionals: boolean,
): { values: Values; positionals: string[] } {
  const all = { ...LOG_OPTIONS, ...options };
  // a negative number after a flag that takes a value is that value (parseArgs would call it
  // "ambiguous"), so that the flag's own check says what it allows: --workers -1
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      joined.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (/^--[^=]+$/.test(a) && all[a.slice(2)]?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      joined.push(`${a}=${next}`);
      i++;
    } else joined.push(a);
  }
  try {
    const r = parseArgs({ args: joined, options: all, allowPositionals, strict: true });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify.*$/s, '').replace(/\s*\n\s*/g, ' ');
    throw new UserError('USAGE', `${msg}; see --help`);
  }
}

/** the values of a flag that may be repeated */
export function many(v: Values, flag: string): string[] {
  const x = v[flag] as unknown;
  return Array.isArray(x) ? (x as string[]) : typeof x === 'string' ? [x] : [];
}

/** --model of predict, evaluate and export: required */
export function modelFlag(v: Values): string {
  if (typeof v.model !== 'string')
    throw new UserError(
      'USAGE',
      'give the model: --model RUN (a run folder, run id or sweep id; gradwire runs lists them)',
    );
  return v.model;
}

export function logFormat(v: Values): LogFormat {
  const format = (v['log-format'] ?? 'auto') as string;
  if (!['auto', 'json', 'pretty'].includes(format))
    throw new UserError('USAGE', `--log-format: "${format}" is not one of auto, json, pretty`);
  return format as LogFormat;
}

/** --log-level, else GRADWIRE_LOG_LEVEL, else info */
export function logLevel(v: Values, env: NodeJS.ProcessEnv = process.env): string {
  const flag = v['log-level'] as string | undefined;
  const level = flag ?? env.GRADWIRE_LOG_LEVEL ?? 'info';
  const problem = logLevelProblem(flag === undefined ? 'GRADWIRE_LOG_LEVEL' : '--log-level', level);
  if (problem) throw new UserError('USAGE', problem);
  return level;
}

export function wholeNumber(flag: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min)
    throw new UserError('USAGE', `${flag}: "${raw}" must be a whole number >= ${min}`);
  return n;
}

/** A duration flag: a number of seconds > 0, or the fallback when not given. */
export function seconds(flag: string, raw: string | undefined, fallback: number): number {
  const n = secondsOrNull(raw, fallback);
  if (n === null) throw new UserError('USAGE', secondsProblem(flag, raw));
  return n;
}

export { readFlagFile } from './paths.js';

export function parseListen(raw: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw new UserError('USAGE', `--listen: "${raw}" is not HOST:PORT (e.g. 0.0.0.0:7070)`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function runId(): string {
  return `run-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;
}

/** Run a command and set the process's exit code: its result; 2 and one line for a usage error
 *  (the stack too with --debug); 1 and the stack for anything else. */
export function runCommand(command: () => Promise<number> | number): void {
  const debug = process.argv.includes('--debug');
  Promise.resolve()
    .then(command)
    .then(
      (code) => {
        process.exitCode = code;
      },
      (e: unknown) => {
        if (isUserError(e)) {
          process.stderr.write(`gradwire: error: ${e.message}\n`);
          if (debug) process.stderr.write(`${e.stack}\n`);
          process.exitCode = 2;
        } else {
          process.stderr.write(`gradwire: internal error: ${(e as Error)?.stack ?? e}\n`);
          process.exitCode = 1;
        }
      },
    );
}
