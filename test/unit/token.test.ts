// Where the shared token comes from: --token-file, GRADWIRE_TOKEN_FILE, GRADWIRE_TOKEN. And how
// strong it must be: beyond loopback, at least 256 bits of entropy, estimated conservatively.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CoordinatorServer } from '../../coordinator/cluster/server.js';
import { MIN_TOKEN_BITS, resolveToken, tokenStrength, weakToken } from '../../shared/token.js';

const files: Record<string, string> = {
  '/run/secrets/t': 's3cret\n',
  '/dev/null': '',
  '/p': 'REPLACE-ME: a placeholder',
};
const read = (_flag: string, path: string): string => {
  const text = files[path];
  if (text === undefined) throw new Error(`no file ${path}`);
  return text;
};

describe('resolveToken', () => {
  it('--token-file wins and is trimmed; an empty one is an error naming it', () => {
    expect(resolveToken({ flagFile: '/run/secrets/t', envFile: '/dev/null', envToken: 'other' }, read)).toBe('s3cret');
    expect(() => resolveToken({ flagFile: '/dev/null', envToken: 'other' }, read)).toThrow(
      '--token-file /dev/null is empty',
    );
  });

  it('GRADWIRE_TOKEN_FILE next; when it is empty (an unset compose secret) GRADWIRE_TOKEN serves', () => {
    expect(resolveToken({ envFile: '/run/secrets/t', envToken: 'other' }, read)).toBe('s3cret');
    expect(resolveToken({ envFile: '/dev/null', envToken: ' tok ' }, read)).toBe('tok');
    expect(() => resolveToken({ envFile: '/dev/null', envToken: '' }, read)).toThrow(
      'GRADWIRE_TOKEN_FILE /dev/null is empty and GRADWIRE_TOKEN is unset: put the token in one of them',
    );
  });

  it('GRADWIRE_TOKEN alone, or no token at all (loopback only)', () => {
    expect(resolveToken({ envToken: 'tok' }, read)).toBe('tok');
    expect(resolveToken({}, read)).toBeNull();
    expect(resolveToken({ envToken: '  ' }, read)).toBeNull();
  });

  it('refuses the placeholder the Kubernetes manifests ship, wherever it comes from', () => {
    expect(() => resolveToken({ flagFile: '/p' }, read)).toThrow(/--token-file \/p holds the placeholder token/);
    expect(() => resolveToken({ envToken: 'REPLACE-ME' }, read)).toThrow(
      /GRADWIRE_TOKEN holds the placeholder token .*openssl rand -hex 32/,
    );
  });
});

// fixed outputs of `openssl rand -hex 32` and `openssl rand -base64 32`
const HEX = '5f0c2a7e9b1d4486a3c1e07f2b9d5e6a8c4f1b3d7e2a9c6b0d5f8e1a4c7b2d9e';
const B64 = 'q0Lk3fz8V+Yw2bTnR1sPdXh6aJ9mC/uE5oG4iNrQlKc=';

describe('tokenStrength: length × log2(the smallest usual alphabet of its characters), conservatively', () => {
  it('worked examples', () => {
    // 64 hex digits: 64 × log2 16 = 256
    expect(tokenStrength(HEX)).toMatchObject({
      bits: 256,
      length: 64,
      alphabet: 'hex',
      size: 16,
      period: null,
    });
    expect(tokenStrength(HEX.toUpperCase())).toMatchObject({ bits: 256, alphabet: 'hex' });
    // one hex digit short: 63 × 4 = 252
    expect(tokenStrength(HEX.slice(1)).bits).toBe(252);
    // base64 of 32 bytes: the '=' padding does not count, 43 × log2 64 = 258
    expect(tokenStrength(B64)).toMatchObject({ bits: 258, length: 43, alphabet: 'base64', size: 64 });
    // base64url without padding: the same 43 characters
    expect(tokenStrength(B64.replace('+', '-').replace('/', '_').replace(/=$/, ''))).toMatchObject({
      bits: 258,
      size: 64,
    });
    // letters and digits only (43 × log2 62 = 256.03): still enough
    expect(tokenStrength('q0Lk3fz8VxYw2bTnR1sPdXh6aJ9mCquE5oG4iNrQlKc')).toMatchObject({
      bits: 256,
      size: 62,
      alphabet: 'letters and digits',
    });
    // a pattern repeated counts once: 16 hex digits × 4
    expect(tokenStrength('0123456789abcdef'.repeat(4))).toMatchObject({ bits: 64, length: 16, period: 16 });
    // fewer than 10 distinct characters: log2(distinct) bits each at most
    expect(tokenStrength('a'.repeat(100))).toMatchObject({ bits: 0, distinct: 1 });
    expect(tokenStrength('ab'.repeat(32))).toMatchObject({ bits: 2, period: 2, distinct: 2 });
    expect(tokenStrength('s3cret')).toMatchObject({ bits: 15, distinct: 6 }); // 6 × log2 6
    expect(tokenStrength(`${'01234567'.repeat(3)}7654321`)).toMatchObject({ distinct: 8, bits: 93 }); // 31 × 3
    // words: lowercase letters and spaces, 27 symbols: 28 × 4.75
    expect(tokenStrength('correct horse battery staple')).toMatchObject({
      bits: 133,
      size: 27,
      alphabet: 'lowercase letters, spaces',
    });
    // lowercase letters, digits and '-': 37 symbols
    expect(tokenStrength('gw-token-0123456789abcdef01234567')).toMatchObject({ bits: 171, size: 37 });
    // anything else: printable ASCII, 95 symbols (39 × log2 95 = 256.2)
    expect(tokenStrength('P@ssw0rd!'.padEnd(39, 'xyzXYZ123#$%&*qrs0987plmn'))).toMatchObject({
      size: 95,
      alphabet: 'printable ASCII',
    });
    expect(tokenStrength('')).toMatchObject({ bits: 0, length: 0 });
  });

  it('tokens made by openssl rand -hex 32 / -base64 32 (and base64url) always pass', () => {
    for (let i = 0; i < 3000; i++) {
      for (const encoding of ['hex', 'base64', 'base64url'] as const) {
        const t = randomBytes(32).toString(encoding);
        expect(weakToken(t), t).toBeNull();
        expect(tokenStrength(t).bits).toBeGreaterThanOrEqual(MIN_TOKEN_BITS);
      }
    }
  });

  it('weakToken names the bits, the reason, the need and how to make one', () => {
    const how = 'Make one with: openssl rand -hex 32 > token (64 hex digits; openssl rand -base64 32 serves too)';
    expect(weakToken(HEX)).toBeNull();
    expect(weakToken(HEX.slice(1))).toBe(
      `the token has ~252 bits of entropy (63 characters of hex (16 symbols)); a coordinator listening beyond loopback needs at least 256. ${how}`,
    );
    expect(weakToken('ab'.repeat(32))).toBe(
      `the token has ~2 bits of entropy (only 2 distinct characters); a coordinator listening beyond loopback needs at least 256. ${how}`,
    );
    expect(weakToken('0123456789abcdef'.repeat(4))).toMatch(
      /^the token has ~64 bits of entropy \(a 16-character pattern repeated\)/,
    );
    expect(weakToken('a'.repeat(64))).toMatch(/^the token has ~0 bits of entropy \(only 1 distinct character\)/);
  });
});

describe('resolveToken beyond loopback', () => {
  it('refuses a weak token, naming where it came from; loopback takes any token', () => {
    const weakFile = { '/weak': 'gw-token-0123456789abcdef01234567\n', '/strong': `${HEX}\n` };
    const readWeak = (_f: string, path: string): string => weakFile[path as keyof typeof weakFile] ?? read(_f, path);
    expect(() => resolveToken({ flagFile: '/weak', beyondLoopback: true }, readWeak)).toThrow(
      /^--token-file \/weak: the token has ~171 bits of entropy .*needs at least 256\. Make one with: openssl rand -hex 32 > token/,
    );
    expect(() => resolveToken({ envToken: 's3cret', beyondLoopback: true }, read)).toThrow(
      /^GRADWIRE_TOKEN: the token has ~15 bits of entropy/,
    );
    expect(resolveToken({ flagFile: '/strong', beyondLoopback: true }, readWeak)).toBe(HEX);
    expect(resolveToken({ envToken: B64, beyondLoopback: true }, read)).toBe(B64);
    // on loopback (or not said): short tokens serve, as the tests' do
    expect(resolveToken({ flagFile: '/weak', beyondLoopback: false }, readWeak)).toBe(
      'gw-token-0123456789abcdef01234567',
    );
    expect(resolveToken({ envToken: 's3cret' }, read)).toBe('s3cret');
    // no token at all is the server's business (it refuses to listen beyond loopback without one)
    expect(resolveToken({ beyondLoopback: true }, read)).toBeNull();
  });
});

describe("the coordinator's server, whoever starts it", () => {
  const server = (host: string, token: string): CoordinatorServer =>
    new CoordinatorServer({
      host,
      port: 0,
      token,
      tls: null,
      log: pino({ level: 'silent' }),
      runtime: { node: process.versions.node, v8: process.versions.v8, kernel: 'js' },
      heartbeatMs: 1000,
      heartbeatTimeoutMs: 5000,
    });

  it('refuses to listen beyond loopback with a weak token; loopback takes it', () => {
    expect(() => server('0.0.0.0', 's3cret')).toThrow(
      /^refusing to listen on 0\.0\.0\.0 with a weak token: the token has ~15 bits of entropy/,
    );
    expect(() => server('192.0.2.10', 'ab'.repeat(32))).toThrow(/the token has ~2 bits .*openssl rand -hex 32 > token/);
    expect(server('0.0.0.0', HEX)).toBeInstanceOf(CoordinatorServer);
    expect(server('127.0.0.1', 's3cret')).toBeInstanceOf(CoordinatorServer);
    expect(server('localhost', 's3cret')).toBeInstanceOf(CoordinatorServer);
  });
});
