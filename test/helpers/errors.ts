// Test helper: run a function that must fail with a UserError (a clear, coded message) and return the error.
import { expect } from 'vitest';
import { parseRunConfig } from '../../shared/config.js';
import { UserError } from '../../shared/errors.js';

/** Run fn, expect it to throw a UserError, and return it. */
export function userError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError, nothing was thrown');
}

/** The CONFIG_INVALID message lines that parsing the run config `input` produces. */
export function configProblems(input: unknown): string[] {
  const e = userError(() => parseRunConfig(input));
  expect(e.code).toBe('CONFIG_INVALID');
  return e.message.split('\n');
}
