// Where the shared token comes from: --token-file, GRADWIRE_TOKEN_FILE, GRADWIRE_TOKEN.
import { describe, expect, it } from 'vitest';
import { resolveToken } from '../../shared/token.js';

const files: Record<string, string> = { '/run/secrets/t': 's3cret\n', '/dev/null': '', '/p': 'REPLACE-ME: a placeholder' };
const read = (_flag: string, path: string): string => {
  const text = files[path];
  if (text === undefined) throw new Error(`no file ${path}`);
  return text;
};

describe('resolveToken', () => {
  it('--token-file wins and is trimmed; an empty one is an error naming it', () => {
    expect(resolveToken({ flagFile: '/run/secrets/t', envFile: '/dev/null', envToken: 'other' }, read)).toBe('s3cret');
    expect(() => resolveToken({ flagFile: '/dev/null', envToken: 'other' }, read)).toThrow('--token-file /dev/null is empty');
  });

  it('GRADWIRE_TOKEN_FILE next; when it is empty (an unset compose secret) GRADWIRE_TOKEN serves', () => {
    expect(resolveToken({ envFile: '/run/secrets/t', envToken: 'other' }, read)).toBe('s3cret');
    expect(resolveToken({ envFile: '/dev/null', envToken: ' tok ' }, read)).toBe('tok');
    expect(() => resolveToken({ envFile: '/dev/null', envToken: '' }, read))
      .toThrow('GRADWIRE_TOKEN_FILE /dev/null is empty and GRADWIRE_TOKEN is unset: put the token in one of them');
  });

  it('GRADWIRE_TOKEN alone, or no token at all (loopback only)', () => {
    expect(resolveToken({ envToken: 'tok' }, read)).toBe('tok');
    expect(resolveToken({}, read)).toBeNull();
    expect(resolveToken({ envToken: '  ' }, read)).toBeNull();
  });

  it('refuses the placeholder the Kubernetes manifests ship, wherever it comes from', () => {
    expect(() => resolveToken({ flagFile: '/p' }, read)).toThrow(/--token-file \/p holds the placeholder token/);
    expect(() => resolveToken({ envToken: 'REPLACE-ME' }, read)).toThrow(/GRADWIRE_TOKEN holds the placeholder token .*openssl rand -hex 32/);
  });
});
