// `gradwire report` opened like a user would: a small sweep and a run, their reports written
// from the experiment store, each opened in headless Chromium from file:// (no network) and
// looked at: every section visible, one trials-table row per trial, one parallel-coordinates
// line per finished trial, curves with a point per epoch, no console errors, a screenshot.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { browserAvailable, launchBrowser } from '../helpers/browser.js';
import { gradwire, tempDir, withFiles, type CliResult } from '../helpers/cli.js';
import { irisSweep } from '../helpers/fixtures.js';

const SWEEP = irisSweep({ trials: 6, epochs: 9, lrMin: 0.0001 });

const RUN = `
seed: 5
data: { name: iris }
model: { hidden: [16], activation: tanh, norm: batch }
optimizer: { name: adam, lr: 0.01, schedule: { name: cosine } }
batchSize: 16
microbatch: 8
epochs: 10
`;

// a grid with seeds (issue 16): 2 × 2 configurations × 3 seed runs, its report from the store
const SEEDED = `
run:
  seed: 4
  data: { name: iris }
  model: { hidden: [16], activation: tanh }
  optimizer: { name: adam, lr: 0.01 }
  batchSize: 16
  microbatch: 8
  epochs: 8
method: grid
seeds: 3
metric: { name: valAccuracy, goal: maximize }
trials: 4
parameters:
  model.dropout: { values: [0, 0.5] }
  model.init: { values: [he_normal, xavier_uniform] }
`;

const dir = withFiles({ 'sweep.yaml': SWEEP, 'run.yaml': RUN, 'seeded.yaml': SEEDED });
const out = tempDir('gradwire-report-');
const ENV = { GRADWIRE_STORE: '' };
const sweepOut = join(out, 'sweep'),
  runOut = join(out, 'run');
const sweepStore = join(sweepOut, 'gradwire.db'),
  runStore = join(out, 'gradwire.db');
const seededOut = join(out, 'seeded'),
  seededHtml = join(out, 'seeded-report.html');
const sweepHtml = join(out, 'sweep-report.html'),
  runHtml = join(out, 'run-report.html');
let sweepId = '',
  runId = '';
const results: Record<string, CliResult> = {};

const SWEEP_SECTIONS = ['findings', 'best', 'best-so-far', 'curves', 'parallel', 'per-value', 'trials'];
const RUN_SECTIONS = ['summary', 'curves', 'throughput', 'epochs', 'config'];

beforeAll(async () => {
  results.sweep = await gradwire(
    ['sweep', '--config', join(dir, 'sweep.yaml'), '--workers', '2', '--out', sweepOut, '--log-format', 'json'],
    {
      env: ENV,
      timeoutMs: 300_000,
    },
  );
  sweepId = JSON.parse(readFileSync(join(sweepOut, 'summary.json'), 'utf8')).sweepId;
  results['sweep-report'] = await gradwire(['report', sweepId, '--store', sweepStore, '--out', sweepHtml], {
    env: ENV,
  });
  results.train = await gradwire(
    ['train', '--workers', '2', '--config', join(dir, 'run.yaml'), '--out', runOut, '--log-format', 'json'],
    {
      env: ENV,
      timeoutMs: 300_000,
    },
  );
  runId = JSON.parse(readFileSync(join(runOut, 'summary.json'), 'utf8')).runId;
  results.seeded = await gradwire(
    ['sweep', '--config', join(dir, 'seeded.yaml'), '--workers', '2', '--out', seededOut, '--log-format', 'json'],
    { env: ENV, timeoutMs: 300_000 },
  );
  const seededId = JSON.parse(readFileSync(join(seededOut, 'summary.json'), 'utf8')).sweepId;
  results['seeded-report'] = await gradwire(
    ['report', seededId, '--store', join(seededOut, 'gradwire.db'), '--out', seededHtml],
    { env: ENV },
  );
  results['run-report'] = await gradwire(['report', runId, '--store', runStore, '--out', runHtml], { env: ENV });
}, 600_000);

describe('gradwire report in headless Chromium', () => {
  it('the sweep, the run and their reports were made', () => {
    for (const [name, r] of Object.entries(results)) {
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
    }
    expect(results['sweep-report']!.stdout.trim()).toBe(sweepHtml);
    expect(results['run-report']!.stdout.trim()).toBe(runHtml);
  });

  const skip = browserAvailable();
  let browser: Browser;
  beforeAll(async () => {
    if (!skip) browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function open(file: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    // anything but the file itself would be a request leaving it
    const requests: string[] = [];
    page.on('request', (r) => {
      if (r.url() !== pathToFileURL(file).href) requests.push(r.url());
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForLoadState('load');
    return { page, errors, requests };
  }

  async function screenshot(page: Page, file: string): Promise<void> {
    const shot = file.replace(/\.html$/, '.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(30_000);
  }

  it.skipIf(skip !== null)(
    'the sweep report: every section visible, a row per trial, a line per finished trial, no errors',
    async () => {
      const { page, errors, requests } = await open(sweepHtml);
      try {
        for (const id of SWEEP_SECTIONS)
          await expect(page.locator(`section#${id}`).isVisible(), id).resolves.toBe(true);
        const trials = readFileSync(join(sweepOut, 'trials.csv'), 'utf8')
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.split(','));
        expect(trials).toHaveLength(6);
        expect(await page.locator('#trials-table tbody tr').count()).toBe(trials.length);
        // parallel coordinates: one line per finished trial (all of them finish: no early stopping)
        const finished = trials.filter((c) => c[c.length - 1] === 'finished').length;
        expect(finished).toBe(trials.length);
        const lines = ['trial', 'best'].map((k) => `section#parallel svg [data-series="${k}"]`).join(', ');
        expect(await page.locator(lines).count()).toBe(finished);
        expect(await page.locator('section#parallel svg [data-series="best"]').count()).toBe(1);
        // the learning curves: a line per trial with a curve, each ending in a dot for its trial
        expect(await page.locator('section#curves svg path.line').count()).toBe(trials.length);
        expect(await page.locator('section#curves svg [data-series^="trial-"]').count()).toBe(trials.length);
        // sorting the trials table still works from file://
        await page.locator('#trials-table thead th').first().click();
        await page.locator('#trials-table thead th').first().click();
        expect(await page.locator('#trials-table tbody tr').first().locator('td').first().textContent()).toBe(
          String(trials.length - 1),
        );
        expect(requests).toEqual([]);
        await screenshot(page, sweepHtml);
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    },
    120_000,
  );

  it.skipIf(skip !== null)(
    'the run report: every section visible, a point per epoch, no errors',
    async () => {
      const { page, errors, requests } = await open(runHtml);
      try {
        for (const id of RUN_SECTIONS) await expect(page.locator(`section#${id}`).isVisible(), id).resolves.toBe(true);
        const epochs = readFileSync(join(runOut, 'epochs.csv'), 'utf8').trim().split('\n').length - 1;
        expect(epochs).toBe(10);
        for (const series of ['trainLoss', 'valLoss', 'trainAccuracy', 'valAccuracy', 'lr']) {
          expect(await page.locator(`section#curves svg [data-series="${series}"]`).count(), series).toBe(epochs);
        }
        // the cosine schedule changes the learning rate: its chart is there
        expect(await page.locator('section#curves svg').count()).toBe(3);
        // the charts really rendered with a size
        for (const id of ['loss', 'accuracy', 'lr', 'throughput'])
          expect((await page.locator(`[data-chart="${id}"] svg`).boundingBox())!.width, id).toBeGreaterThan(300);
        expect(await page.locator('section#throughput svg [data-series="samplesPerSecond"]').count()).toBe(epochs);
        expect(await page.locator('#epochs-table tbody tr').count()).toBe(epochs);
        // biome-ignore lint/performance/useDomNodeTextContent: playwright's innerText() is the rendered text a reader sees
        const summary = await page.locator('section#summary').innerText();
        expect(summary).toContain('distributed, 2 workers');
        expect(summary).toContain(JSON.parse(readFileSync(join(runOut, 'summary.json'), 'utf8')).weightsSha256);
        // the config JSON is folded away until asked for
        await expect(page.locator('section#config pre.json').isVisible()).resolves.toBe(false);
        await page.locator('section#config details summary').click();
        await expect(page.locator('section#config pre.json').isVisible()).resolves.toBe(true);
        expect(requests).toEqual([]);
        await screenshot(page, runHtml);
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    },
    120_000,
  );
  it.skipIf(skip !== null)(
    'a grid with seeds: 3, reported from the store: intervals in the table, error bars drawn, the test stated',
    async () => {
      const { page, errors, requests } = await open(seededHtml);
      try {
        const [header, ...lines] = readFileSync(join(seededOut, 'trials.csv'), 'utf8').trim().split('\n');
        const cols = header!.split(',');
        expect(lines).toHaveLength(4);
        // biome-ignore lint/performance/useDomNodeTextContent: playwright's innerText() is the rendered text a reader sees
        const table = await page.locator('#trials-table').innerText();
        for (const l of lines) {
          const c = l.split(',');
          const [m, lo, hi] = ['valAccuracy', 'valAccuracyLo', 'valAccuracyHi'].map((n) => Number(c[cols.indexOf(n)]));
          expect(table).toContain(`${(m! * 100).toFixed(1)} ± ${(((hi! - lo!) / 2) * 100).toFixed(1)}% (3 seeds)`);
        }
        // the test, with df = (levels − 1, 4 configurations × (3 − 1) = 8)
        // biome-ignore lint/performance/useDomNodeTextContent: as above
        const findings = await page.locator('section#findings').innerText();
        expect(findings).toContain(
          'main-effect F-test of the 4-configuration factorial grid (3 seeds per configuration)',
        );
        expect(findings).toContain('(levels − 1, 8)');
        expect(findings).toMatch(/Dropout rate|model\.dropout/);
        // one error bar per configuration (best so far) and per level (2 + 2), each drawn (its caps have a width even when iris's 30 validation samples give seeds the same accuracy)
        const bars = page.locator('#best-so-far svg path[data-series="interval"]');
        expect(await bars.count()).toBe(4);
        const levels = page.locator('#findings svg path[data-series="level-interval"]');
        expect(await levels.count()).toBe(4);
        for (let i = 0; i < 4; i++) expect((await levels.nth(i).boundingBox())!.width).toBeGreaterThan(0);
        expect(requests).toEqual([]);
        await screenshot(page, seededHtml);
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    },
    120_000,
  );
});

if (browserAvailable() !== null) console.warn(`report browser tests skipped: ${browserAvailable()}`);
