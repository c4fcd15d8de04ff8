// Where the shared token comes from, the same rules for coordinator and worker: --token-file,
// else the file named by GRADWIRE_TOKEN_FILE, else GRADWIRE_TOKEN itself. An empty
// GRADWIRE_TOKEN_FILE (a compose secret left unset is /dev/null) falls back to GRADWIRE_TOKEN,
// so one compose file serves a token given either way.
import { UserError } from './errors.js';

export interface TokenSources {
  /** --token-file */
  flagFile?: string | undefined;
  /** GRADWIRE_TOKEN_FILE */
  envFile?: string | undefined;
  /** GRADWIRE_TOKEN */
  envToken?: string | undefined;
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
    if (!token) throw new UserError('USAGE', `${where} is empty and GRADWIRE_TOKEN is unset: put the token in one of them`);
  } else {
    where = 'GRADWIRE_TOKEN';
    token = s.envToken?.trim() || null;
  }
  // the shipped manifests' placeholder is public: it must not serve as a secret
  if (token?.startsWith('REPLACE-ME')) {
    throw new UserError('USAGE', `${where} holds the placeholder token ("REPLACE-ME…"); put a random one there, e.g. openssl rand -hex 32`);
  }
  return token;
}
