// One way to answer a GET with bytes kept in memory (the dashboard's files, the join page and
// its bundles): an etag from the content, 304 when the browser has it, the given headers.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Cached {
  body: Uint8Array;
  etag: string;
}

export function cached(body: Uint8Array): Cached {
  return { body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
}

/** 200 with the body, or 304 when the request's If-None-Match is its etag. */
export function sendCached(
  req: IncomingMessage,
  res: ServerResponse,
  { body, etag }: Cached,
  headers: Record<string, string>,
): void {
  const all = { ...headers, etag };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, all);
    res.end();
    return;
  }
  res.writeHead(200, { ...all, 'content-length': body.byteLength });
  res.end(body);
}

/** Text content types say their charset. */
export const TEXT = (t: string): string => `${t}; charset=utf-8`;
