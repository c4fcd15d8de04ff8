// The token gate's primitives: how a worker proves it knows the token (an HMAC over the
// server's nonce), the dashboard's session cookie (an HMAC of the token, never the token),
// constant-time comparison, and which hosts are loopback (no token needed there).
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Compare two secrets in constant time (for equal lengths). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The session cookie of the dashboard: an HMAC of the token, never the token itself. */
export const SESSION_COOKIE = 'gradwire_session';
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('gradwire dashboard session').digest('base64url');
}

/** HMAC-SHA256(token, nonce): what a worker proves it knows the token with. */
export function authTag(token: string, nonce: Uint8Array): Buffer {
  return createHmac('sha256', token).update(nonce).digest();
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
