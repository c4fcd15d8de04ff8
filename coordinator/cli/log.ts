// The commands' logger: the one pino set-up (shared/node/log.ts) without base fields. JSON when
// stdout is not a terminal (or --log-format json), pretty when it is.
import type { Logger } from 'pino';
import { createLogger as createProcessLogger, type LogFormat } from '../../shared/node/log.js';

export function createLogger(format: LogFormat = 'auto', level = 'info'): Logger {
  return createProcessLogger({ format, level });
}
