// User errors: bad config, bad data, bad flags. They carry a stable code and are printed as
// one sentence with exit code 2, without a stack trace (`--debug` shows it).

export type UserErrorCode =
  | 'CONFIG_INVALID'
  | 'DATA_INVALID'
  | 'DATA_NOT_FOUND'
  | 'USAGE'
  | 'CHECKPOINT_INVALID'
  | 'NON_FINITE';

export class UserError extends Error {
  readonly code: UserErrorCode;
  constructor(code: UserErrorCode, message: string) {
    super(message);
    this.name = 'UserError';
    this.code = code;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
