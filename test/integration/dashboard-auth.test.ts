// Who may watch: with a token, the dashboard (/, its API and assets) and /metrics need it —
// as "Authorization: Bearer TOKEN" or through the login form, which sets a session cookie that
// is an HMAC of the token, never the token — unless --public-dashboard. /healthz and the login
// form stay open; nothing the coordinator serves contains the token. Real coordinator
// processes, real HTTP.
import { createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeNext } from '../../coordinator/web/login.js';
import { tempDir, withFiles } from '../helpers/cli.js';
import { killAll, listeningPort, startCoordinator, type Proc } from '../helpers/cluster.js';

// no worker ever joins: the coordinator waits for one and keeps serving
const dir = withFiles({
  'iris.yaml': 'data: { name: iris }\nmodel: { hidden: [8] }\nbatchSize: 16\nepochs: 1\n',
});
const TOKEN = randomBytes(24).toString('base64url');
const tokenFile = join(tempDir('gradwire-auth-'), 'token.txt');
writeFileSync(tokenFile, `${TOKEN}\n`);

afterAll(killAll);

async function coordinator(extra: string[] = []): Promise<{ c: Proc; base: string }> {
  const c = startCoordinator([
    '--config',
    join(dir, 'iris.yaml'),
    '--listen',
    '127.0.0.1:0',
    '--out',
    tempDir(),
    ...extra,
  ]);
  return { c, base: `http://127.0.0.1:${await listeningPort(c)}` };
}

const get = (url: string, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(url, { headers, redirect: 'manual' });

function login(base: string, token: string, next = '/'): Promise<Response> {
  return fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, next }).toString(),
  });
}

describe('a coordinator with a token', () => {
  let base = '';
  let c: Proc;
  beforeAll(async () => {
    ({ c, base } = await coordinator(['--token-file', tokenFile]));
  });

  it('/healthz and the login form stay open; the form holds no token', async () => {
    expect((await get(`${base}/healthz`)).status).toBe(200);
    const form = await get(`${base}/login?next=%2F`);
    expect(form.status).toBe(200);
    const html = await form.text();
    expect(html).toContain('<form method="post" action="/login"');
    expect(html).not.toContain(TOKEN);
  });

  it('without credentials: a browser is sent to the login form, anything else gets 401 naming the way in', async () => {
    const page = await get(`${base}/`, { accept: 'text/html' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login?next=%2F');
    for (const path of ['/api/state', '/metrics', '/assets/dashboard.js']) {
      const r = await get(`${base}${path}`);
      expect(r.status, path).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="gradwire"');
      expect(await r.text()).toMatch(/Authorization: Bearer TOKEN.*\/login/s);
    }
  });

  it('a wrong token, as bearer or in the form, is refused and the failed login logged', async () => {
    expect((await get(`${base}/api/state`, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    const r = await login(base, `${TOKEN.slice(0, -1)}!`);
    expect(r.status).toBe(401);
    expect(await r.text()).toContain('not this coordinator');
    expect(r.headers.get('set-cookie')).toBeNull();
    await c.waitForEvent('login-failed');
  });

  it('the bearer header opens the dashboard, its API and /metrics; none of them contains the token', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    for (const path of ['/', '/api/state', '/metrics', '/assets/dashboard.js']) {
      const r = await get(`${base}${path}`, auth);
      expect(r.status, path).toBe(200);
      expect(await r.text(), path).not.toContain(TOKEN);
    }
  });

  it('the login form sets an HttpOnly session cookie: an HMAC of the token, which then opens the dashboard', async () => {
    const r = await login(base, TOKEN, '/api/state');
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/api/state');
    const cookie = r.headers.get('set-cookie')!;
    // computed here independently: HMAC-SHA256 keyed with the token over a fixed label
    const expected = createHmac('sha256', TOKEN).update('gradwire dashboard session').digest('base64url');
    expect(cookie).toBe(`gradwire_session=${expected}; Path=/; HttpOnly; SameSite=Strict`);
    expect(cookie).not.toContain(TOKEN);
    const session = { cookie: `gradwire_session=${expected}` };
    expect((await get(`${base}/api/state`, session)).status).toBe(200);
    expect((await get(`${base}/`, { ...session, accept: 'text/html' })).status).toBe(200);
    expect((await get(`${base}/api/state`, { cookie: 'gradwire_session=forged' })).status).toBe(401);
    // logged in: the form sends the browser on
    expect((await get(`${base}/login?next=%2Fmetrics`, session)).headers.get('location')).toBe('/metrics');
  });

  it('a login never redirects off this coordinator', async () => {
    expect((await login(base, TOKEN, '//evil.example/x')).headers.get('location')).toBe('/');
    expect((await login(base, TOKEN, 'https://evil.example/')).headers.get('location')).toBe('/');
    expect(safeNext('/\\evil.example')).toBe('/');
    expect(safeNext('/metrics?x=1')).toBe('/metrics?x=1');
  });
});

describe('open dashboards', () => {
  it('--public-dashboard: the dashboard and /metrics without credentials, workers still need the token', async () => {
    const { c, base } = await coordinator(['--token-file', tokenFile, '--public-dashboard']);
    for (const path of ['/', '/api/state', '/metrics']) expect((await get(`${base}${path}`)).status, path).toBe(200);
    expect((await listeningEvent(c)).auth).toBe(true);
  });

  it('no token (loopback only): open, and the login form just sends the browser on', async () => {
    const { base } = await coordinator();
    expect((await get(`${base}/`)).status).toBe(200);
    expect((await get(`${base}/login?next=%2Fmetrics`)).headers.get('location')).toBe('/metrics');
  });
});

function listeningEvent(c: Proc): Promise<Record<string, unknown>> {
  return c.waitForEvent('listening');
}
