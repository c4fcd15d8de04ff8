// Durations given as text (a flag's or an environment variable's value): a number of seconds
// > 0. The one check and the one wording of its error, for the commands and the worker.

/** The seconds `raw` gives (the fallback when it is not given), or null when it is not a
 *  number of seconds > 0. */
export function secondsOrNull(raw: string | undefined, fallback: number): number | null {
  const n = Number(raw ?? fallback);
  return n > 0 ? n : null;
}

/** The error of a duration flag whose value is not a number of seconds > 0. */
export function secondsProblem(flag: string, raw: string | undefined): string {
  return `${flag}: "${raw}" must be a number of seconds > 0`;
}
