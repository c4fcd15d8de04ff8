// The one pino set-up of gradwire's processes (the commands and the worker): one event per
// line, JSON with ISO timestamps when stdout is not a terminal (or format json), pretty when it
// is (or format pretty). pino-pretty is loaded only when used: a worker's memory is kept small.
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

/** the log formats of --log-format: auto is pretty on a terminal, JSON otherwise */
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LogOptions {
  /** auto | json | pretty; anything else is JSON */
  format: string;
  /** pino level: debug | info | warn | error … */
  level: string;
  /** fields on every event (JSON), left out of the pretty lines */
  base?: Record<string, unknown>;
}

export function createLogger({ format, level, base }: LogOptions): Logger {
  const usePretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  if (!usePretty) return pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime });
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return pino(
    { level, base },
    pretty({
      colorize: true,
      sync: true,
      translateTime: 'HH:MM:ss',
      ignore: ['pid', 'hostname', ...Object.keys(base ?? {})].join(','),
      hideObject: true,
    }),
  );
}
