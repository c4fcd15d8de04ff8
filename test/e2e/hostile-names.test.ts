// The live dashboard in headless Chromium with a hostile worker name (an <img> with an onerror
// handler, a <script>, a quote, a backslash) and a hostile config value (a CSV dataset's path,
// shown as the dataset's name), through real coordinator and worker processes: the workers table
// and the facts show them as text, no element of theirs exists in the page, nothing of theirs
// ran, and the page reports no CSP violation or error — while the worker is ready, and once it
// is gone. The same names in the JSON API, the event stream, /metrics and the run report:
// test/integration/escaping.test.ts. Slow: run by `npm run test:e2e` (GRADWIRE_E2E=1).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../helpers/browser.js';
import { tempDir } from '../helpers/cli.js';
import { killAll, listeningPort, startCoordinator, startWorker } from '../helpers/cluster.js';
import { HOSTILE_CSV, HOSTILE_WORKER, hostileRun } from '../helpers/hostile.js';

const skip = browserAvailable();
if (skip !== null) console.warn(`hostile-name browser test skipped: ${skip}`);

let browser: Browser | null = null;
beforeAll(async () => {
  if (skip === null) browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(killAll);

interface Row {
  worker: string | undefined;
  state: string | undefined;
  name: string | null;
  /** elements inside the name cell (text only: none) */
  nameElements: number;
}

const rows = (page: Page): Promise<Row[]> =>
  page.locator('#workers tbody tr').evaluateAll((trs) =>
    trs.map((tr) => {
      const td = tr.querySelector('td.name')!;
      const d = (tr as HTMLElement).dataset;
      return { worker: d.worker, state: d.state, name: td.textContent, nameElements: td.children.length };
    }),
  );

/** what an injected element or script would have left behind */
const traces = (page: Page) =>
  page.evaluate(() => ({
    xss: (window as unknown as { __xss?: unknown }).__xss ?? null,
    csp: (window as unknown as { __csp: string[] }).__csp,
    imgs: document.querySelectorAll('img').length,
    scripts: [...document.scripts].map((s) => s.getAttribute('src')),
    inWorkers: document.querySelectorAll('#workers img, #workers script, #facts img, #facts script').length,
    model: document.getElementById('fact-model')!.textContent,
    modelElements: document.getElementById('fact-model')!.children.length,
  }));

describe.skipIf(skip !== null)('the dashboard with a hostile worker name and config value', () => {
  it('shows them as text: no element of theirs in the page, nothing of theirs ran', async () => {
    const out = tempDir('gradwire-hostile-dash-');
    const c = startCoordinator([
      '--config',
      hostileRun(300),
      '--listen',
      '127.0.0.1:0',
      '--out',
      out,
      '--min-workers',
      '2',
      '--stay',
    ]);
    const port = await listeningPort(c);
    const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    // (an init script runs whatever the page's CSP says) CSP violations, should anything try
    await page.addInitScript(() => {
      const w = window as unknown as { __csp: string[] };
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector('#conn[data-state="open"]');

    startWorker(port, HOSTILE_WORKER);
    startWorker(port, 'plain');
    await expect
      .poll(() => page.locator('#workers tbody tr[data-state="ready"]').count(), { timeout: 60_000, interval: 250 })
      .toBe(2);
    await c.waitForEvent('worker-joined', (e) => e.name === HOSTILE_WORKER);
    await page.waitForSelector('#status[data-status="running"]');
    await expect.poll(async () => (await traces(page)).model, { timeout: 10_000 }).toContain(HOSTILE_CSV);

    const check = async (state: string): Promise<void> => {
      const r = await rows(page);
      const hostile = r.find((x) => x.worker === HOSTILE_WORKER);
      expect(hostile, JSON.stringify(r)).toBeDefined();
      expect(hostile!.state).toBe(state);
      expect(hostile!.name).toBe(HOSTILE_WORKER); // the markup as text, every character
      expect(hostile!.nameElements).toBe(0);
      const t = await traces(page);
      expect(t.xss).toBeNull(); // neither the onerror handler nor the script ran
      expect(t.csp).toEqual([]); // nor was anything of theirs even tried (and blocked)
      expect(t.imgs).toBe(0); // the page itself has no <img>: none was injected anywhere
      expect(t.inWorkers).toBe(0);
      expect(t.scripts).toEqual(['assets/echarts.min.js', 'assets/dashboard.js']);
      expect(t.model).toContain(HOSTILE_CSV);
      expect(t.modelElements).toBe(0);
      // the markup is escaped in the serialised DOM, the handler nowhere an attribute
      const html = await page.content();
      expect(html).not.toContain('<img');
      expect(html).not.toContain('<script>window');
      expect(html).toContain(
        '&lt;img src=x onerror="window.__xss=1"&gt;&lt;script&gt;window.__xss=2&lt;/script&gt;"\\',
      );
    };
    await check('ready');
    const shot = join(out, 'dashboard-hostile.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(20_000);

    // the run ends, the workers leave: the gone rows show the name the same way
    await c.waitForEvent('done', () => true, 120_000);
    await page.waitForSelector('#status[data-status="finished"]', { timeout: 10_000 });
    await expect
      .poll(async () => (await rows(page)).filter((x) => x.state === 'gone').length, { timeout: 15_000 })
      .toBe(2);
    await check('gone');
    await page.screenshot({ path: join(out, 'dashboard-hostile-gone.png'), fullPage: true });
    console.info(`hostile-name dashboard screenshots: ${shot}, ${join(out, 'dashboard-hostile-gone.png')}`);
    expect(errors).toEqual([]);
    await page.close();
    c.kill('SIGTERM');
    expect(await c.exited).toBe(0);
  }, 180_000);
});
