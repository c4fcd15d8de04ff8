// The dashboard's login: a form that takes the token and sets a session cookie whose value is an
// HMAC of the token (coordinator/cluster/auth.ts: sessionValue), never the token itself. The form and
// its POST are open routes; everything else on the dashboard goes through the server's gate.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { html } from '../../shared/html.js';
import { SESSION_COOKIE, sameSecret, sessionValue } from '../cluster/auth.js';
import type { CoordinatorServer } from '../cluster/server.js';

/** The largest login form body read (a token is far shorter). */
const MAX_BODY = 8 * 1024;

/** Only a local path may follow a login (no open redirect to another site). */
export function safeNext(raw: string | null | undefined): string {
  return raw?.startsWith('/') && !raw.startsWith('//') && !raw.startsWith('/\\') ? raw : '/';
}

/** the login form (exported for the escaping test) */
export function loginPage(next: string, problem: string | null): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>gradwire — log in</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; background: #f6f7f9; color: #1d232b; display: grid; place-items: center; min-height: 90vh; }
form { background: #fff; padding: 24px 28px; border-radius: 8px; box-shadow: 0 1px 4px #0002; width: 340px; }
h1 { font-size: 18px; margin: 0 0 12px; } label { display: block; margin: 12px 0 4px; }
input[type=password] { width: 100%; box-sizing: border-box; padding: 8px; font: inherit; }
button { margin-top: 14px; padding: 8px 16px; font: inherit; }
.problem { color: #b00020; } .hint { color: #5b6470; font-size: 13px; }
</style></head>
<body><form method="post" action="/login" id="login">
<h1>gradwire dashboard</h1>
<p class="hint">This coordinator has a token. Enter it to watch the run (the browser keeps a session cookie derived from it, not the token).</p>
${problem ? html`<p class="problem" id="problem">${problem}</p>` : ''}
<label for="token">Token</label>
<input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="${next}">
<button type="submit">Log in</button>
</form></body></html>
`.value;
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.byteLength;
      if (size > MAX_BODY) {
        resolve(null);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

export function installLogin(server: CoordinatorServer): void {
  const open = { open: true };
  const html = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
    });
    res.end(body);
  };

  server.route(
    'GET',
    '/login',
    (req, res, url) => {
      const next = safeNext(url.searchParams.get('next'));
      // nothing to log in to: no token, or a public dashboard, or already logged in
      if (server.o.token === null || server.o.publicDashboard || server.authorized(req)) {
        res.writeHead(303, { location: next });
        res.end();
        return;
      }
      html(res, 200, loginPage(next, null));
    },
    open,
  );

  server.route(
    'POST',
    '/login',
    (req, res) => {
      void readBody(req).then((body) => {
        const form = new URLSearchParams(body ?? '');
        const next = safeNext(form.get('next'));
        const token = server.o.token;
        if (token === null || server.o.publicDashboard) {
          res.writeHead(303, { location: next });
          res.end();
          return;
        }
        if (body === null || !sameSecret(form.get('token') ?? '', token)) {
          server.o.log.warn(
            { event: 'login-failed', address: req.socket.remoteAddress },
            `dashboard login from ${req.socket.remoteAddress}: wrong token`,
          );
          html(
            res,
            401,
            loginPage(next, body === null ? 'The form was too large.' : "That is not this coordinator's token."),
          );
          return;
        }
        const secure = server.o.tls ? '; Secure' : '';
        res.writeHead(303, {
          location: next,
          'set-cookie': `${SESSION_COOKIE}=${sessionValue(token)}; Path=/; HttpOnly; SameSite=Strict${secure}`,
          'cache-control': 'no-store',
        });
        res.end();
      });
    },
    open,
  );

  server.route(
    'GET',
    '/logout',
    (_req, res) => {
      res.writeHead(303, {
        location: '/login',
        'set-cookie': `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`,
      });
      res.end();
    },
    open,
  );
}
