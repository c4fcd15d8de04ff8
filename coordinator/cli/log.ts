// The commands' logger: pino, one event per line. JSON when stdout is not a terminal (or --log-format json),
// pretty when it is.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat } from './common.js';

export function createLogger(format: LogFormat = 'auto', level = 'info'): Logger {
  const usePretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  if (!usePretty) return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
  return pino(
    { level, base: undefined },
    pretty({
      colorize: true,
      sync: true,
      translateTime: 'HH:MM:ss',
      ignore: 'pid,hostname',
      hideObject: true,
    }),
  );
}
