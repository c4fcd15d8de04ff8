// A self-signed certificate for 127.0.0.1 (openssl req -x509), for the tests of wss:// and
// https://: the coordinator's --tls-cert/--tls-key, and what a client trusts.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from './cli.js';

/** null when openssl runs here, else why not (for skipIf and its message) */
export const opensslMissing: string | null =
  spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0 ? null : 'openssl is not installed';

/** A fresh key and certificate (CN localhost, subjectAltName IP:127.0.0.1, one day): their paths. */
export function selfSignedCert(): { cert: string; key: string } {
  const dir = tempDir('gradwire-tls-');
  const cert = join(dir, 'cert.pem'),
    key = join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl could not make a certificate: ${r.stderr}`);
  return { cert, key };
}
