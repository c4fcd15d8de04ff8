// Where the shared token comes from, the same rules for coordinator and worker: --token-file,
// else the file named by GRADWIRE_TOKEN_FILE, else GRADWIRE_TOKEN itself. An empty
// GRADWIRE_TOKEN_FILE (a compose secret left unset is /dev/null) falls back to GRADWIRE_TOKEN,
// so one compose file serves a token given either way. And how strong a token is: a coordinator
// listening beyond loopback needs one of at least 256 bits of entropy.
import { UserError } from './errors.js';

export interface TokenSources {
  /** --token-file */
  flagFile?: string | undefined;
  /** GRADWIRE_TOKEN_FILE */
  envFile?: string | undefined;
  /** GRADWIRE_TOKEN */
  envToken?: string | undefined;
  /** the coordinator listens beyond loopback: the token must be strong (tokenStrength) */
  beyondLoopback?: boolean;
}

/** Entropy a token needs beyond loopback: that of 32 random bytes. */
export const MIN_TOKEN_BITS = 256;

export const MAKE_TOKEN = 'openssl rand -hex 32 > token';

export interface TokenStrength {
  /** conservative estimate of the token's entropy in bits (rounded down) */
  bits: number;
  /** characters counted: the token without base64 '=' padding, a repeated pattern once */
  length: number;
  /** the smallest usual alphabet of its characters and that alphabet's size */
  alphabet: string;
  size: number;
  /** distinct characters */
  distinct: number;
  /** the period when the token is one pattern repeated (e.g. "abab…": 2), else null */
  period: number | null;
}

/** The smallest p ≤ n/2 with s[i] = s[i - p] for every i ≥ p (s is a pattern repeated at least
 *  twice, the last copy possibly cut), or null. */
function periodOf(s: string): number | null {
  for (let p = 1; 2 * p <= s.length; p++) {
    let ok = true;
    for (let i = p; i < s.length && ok; i++) ok = s[i] === s[i - p];
    if (ok) return p;
  }
  return null;
}

/** Estimate a token's entropy from the string alone, conservatively: as if each character were
 *  drawn uniformly from the smallest usual alphabet holding all of its characters —
 *    hex (digits and a-f, or digits and A-F) 16; digits 10; one case of letters 26, digits
 *    add 10; both cases of letters: letters and digits, 62; base64's symbols + / - _ add one
 *    each (so base64 and base64url have 64); a space adds 1; any other character makes it
 *    printable ASCII, 95 —
 *  bits = length × log2(size), where base64 '=' padding at the end does not count, a token that
 *  is one pattern repeated counts the pattern once, and a token of fewer than 10 distinct
 *  characters counts log2(distinct) bits per character at most ("aaaa…" has none).
 *  So `openssl rand -hex 32` (64 hex digits) has 256 bits and `openssl rand -base64 32`
 *  (43 characters and '=') 258 (256 without + and /); a password of words has far fewer. */
export function tokenStrength(token: string): TokenStrength {
  const s = token.replace(/=+$/, '');
  const chars = [...s];
  const distinct = new Set(chars).size;
  const digit = /[0-9]/.test(s),
    lower = /[a-z]/.test(s),
    upper = /[A-Z]/.test(s);
  const symbols = new Set(chars.filter((c) => '+/-_'.includes(c))).size;
  const space = s.includes(' ');
  const other = /[^0-9a-zA-Z+/\-_ ]/.test(s);
  let alphabet: string;
  let size: number;
  if ((/^[0-9a-f]+$/.test(s) || /^[0-9A-F]+$/.test(s)) && (lower || upper) && digit) {
    alphabet = 'hex';
    size = 16;
  } else if (other) {
    alphabet = 'printable ASCII';
    size = 95;
  } else {
    // both cases of letters: the letters-and-digits alphabet of random generators (base64's
    // 43 characters of 32 bytes lack digits once in ~1400)
    const alnum = lower && upper;
    size = (digit || alnum ? 10 : 0) + (alnum ? 52 : lower || upper ? 26 : 0) + symbols + (space ? 1 : 0);
    const parts = [
      alnum ? 'letters and digits' : digit && 'digits',
      !alnum && (lower ? 'lowercase letters' : upper && 'uppercase letters'),
      symbols > 0 && 'symbols',
      space && 'spaces',
    ].filter(Boolean);
    alphabet = alnum && !space && symbols === 2 ? 'base64' : parts.join(', ') || 'nothing';
  }
  const period = periodOf(chars.join(''));
  const length = period ?? chars.length;
  const perChar = distinct < 10 ? Math.log2(Math.max(1, Math.min(distinct, size))) : Math.log2(Math.max(1, size));
  // a hair of slack so that 64 hex digits make exactly 256, not 255.99999999999997
  return { bits: Math.floor(length * perChar + 1e-9), length, alphabet, size, distinct, period };
}

/** Why a token is too weak to guard a coordinator beyond loopback, or null when it is not. */
export function weakToken(token: string): string | null {
  const t = tokenStrength(token);
  if (t.bits >= MIN_TOKEN_BITS) return null;
  const why =
    t.distinct < 10
      ? `only ${t.distinct} distinct character${t.distinct === 1 ? '' : 's'}`
      : t.period !== null
        ? `a ${t.period}-character pattern repeated`
        : `${t.length} characters of ${t.alphabet} (${t.size} symbols)`;
  return (
    `the token has ~${t.bits} bits of entropy (${why}); a coordinator listening beyond loopback needs at least ${MIN_TOKEN_BITS}. ` +
    `Make one with: ${MAKE_TOKEN} (64 hex digits; openssl rand -base64 32 serves too)`
  );
}

/** The token, or null for none. `read` returns a file's text (and throws a UserError naming
 *  the file when it cannot). */
export function resolveToken(s: TokenSources, read: (flag: string, path: string) => string): string | null {
  let token: string | null;
  let where: string;
  if (s.flagFile) {
    where = `--token-file ${s.flagFile}`;
    token = read('--token-file', s.flagFile).trim();
    if (!token) throw new UserError('USAGE', `${where} is empty`);
  } else if (s.envFile) {
    where = `GRADWIRE_TOKEN_FILE ${s.envFile}`;
    token = read('GRADWIRE_TOKEN_FILE', s.envFile).trim() || s.envToken?.trim() || null;
    if (!token)
      throw new UserError('USAGE', `${where} is empty and GRADWIRE_TOKEN is unset: put the token in one of them`);
  } else {
    where = 'GRADWIRE_TOKEN';
    token = s.envToken?.trim() || null;
  }
  // a placeholder copied from documentation (earlier manifests shipped one) is public: it
  // must not serve as a secret, even on loopback
  if (token?.startsWith('REPLACE-ME')) {
    throw new UserError(
      'USAGE',
      `${where} holds the placeholder token ("REPLACE-ME…"); put a random one there, e.g. openssl rand -hex 32`,
    );
  }
  const weak = token !== null && s.beyondLoopback ? weakToken(token) : null;
  if (weak) throw new UserError('USAGE', `${where}: ${weak}`);
  return token;
}
