// The log levels a user may ask for: the worker and the commands check --log-level and
// GRADWIRE_LOG_LEVEL against them before pino does (pino would throw), without loading pino.
/** pino's levels a user may ask for (--log-level, GRADWIRE_LOG_LEVEL) */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** null when `level` is one of LOG_LEVELS, else the sentence that says so (`source` names it) */
export function logLevelProblem(source: string, level: string): string | null {
  return (LOG_LEVELS as readonly string[]).includes(level)
    ? null
    : `${source}: "${level}" is not one of ${LOG_LEVELS.join(', ')}`;
}
