// The sweep report: findings checked against independently computed numbers, then the written
// file opened in headless Chromium (file://, no network) and looked at like a user would.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { renderSweepReport, type SweepReportInput } from '../../coordinator/report/sweep-report.js';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import type { SweepConfig, TrialRecord } from '../../shared/sweep/types.js';
import { browserAvailable, launchBrowser } from '../helpers/browser.js';
import { tempDir } from '../helpers/cli.js';

const DROPOUT = [0, 0.2, 0.5];
const ACTIVATION = ['relu', 'sigmoid', 'tanh', 'gelu'];
const INIT = ['lecun_normal', 'xavier_uniform', 'he_normal'];
const NORM = ['none', 'batch'];
// the synthetic truth: accuracy = base + the effect of each value + a little fixed noise
const BASE = 0.93;
const EFFECT: Record<string, Record<string, number>> = {
  'model.dropout': { 0: 0, 0.2: 0.006, 0.5: -0.012 },
  'model.activation': { relu: 0.02, gelu: 0.012, tanh: 0, sigmoid: -0.03 },
  'model.init': { lecun_normal: 0, xavier_uniform: 0.002, he_normal: 0.004 },
  'model.norm': { none: 0, batch: 0.025 },
};
const EPOCHS = 10;
const STOPPED = new Set([7, 30, 51]);
const FAILED_AT_START = 44,
  DIVERGED = 58;
const QUEUED = new Set([70, 71]);

function sweepConfig(parameters: SweepConfig['parameters']): SweepConfig {
  return {
    base: DEFAULT_RUN_CONFIG,
    method: 'grid',
    metric: { name: 'valAccuracy', goal: 'maximize' },
    trials: 72,
    concurrency: null,
    workersPerTrial: 1,
    seed: 0,
    seeds: 1,
    parameters,
    earlyStopping: { type: 'asha', minEpochs: 3, reductionFactor: 3 },
    tpe: { startupTrials: 10, gamma: null, candidates: 24, multivariate: false, constantLiar: true },
    narrow: { rounds: 3, keep: 0.25 },
  };
}

const curveTo = (final: number, epochs: number): TrialRecord['curve'] =>
  Array.from({ length: epochs }, (_, k) => {
    const valAccuracy = k === EPOCHS - 1 ? final : final - (final - 0.55) * 0.55 ** k;
    return {
      epoch: k + 1,
      valAccuracy,
      valLoss: 1.6 * (1 - valAccuracy),
      trainLoss: 1.5 * (1 - valAccuracy) + 0.02,
    };
  });

function lectureInput(): SweepReportInput {
  const config = sweepConfig({
    'model.dropout': { distribution: 'values', values: DROPOUT },
    'model.activation': { distribution: 'values', values: ACTIVATION },
    'model.init': { distribution: 'values', values: INIT },
    'model.norm': { distribution: 'values', values: NORM },
  });
  const trials: TrialRecord[] = [];
  let index = 0;
  for (const dropout of DROPOUT)
    for (const activation of ACTIVATION)
      for (const init of INIT)
        for (const norm of NORM) {
          const params = {
            'model.dropout': dropout,
            'model.activation': activation,
            'model.init': init,
            'model.norm': norm,
          };
          const final =
            BASE +
            EFFECT['model.dropout']![dropout]! +
            EFFECT['model.activation']![activation]! +
            EFFECT['model.init']![init]! +
            EFFECT['model.norm']![norm]! +
            (((index * 37) % 11) - 5) / 1000;
          let t: TrialRecord = {
            index,
            params,
            status: 'finished',
            value: final,
            valAccuracy: final,
            epochs: EPOCHS,
            curve: curveTo(final, EPOCHS),
          };
          if (STOPPED.has(index)) {
            const curve = curveTo(final, 3);
            t = {
              ...t,
              status: 'stopped',
              epochs: 3,
              curve,
              value: curve[2]!.valAccuracy,
              valAccuracy: curve[2]!.valAccuracy,
            };
          } else if (index === FAILED_AT_START) {
            t = { ...t, status: 'failed', epochs: 0, curve: [], value: null, valAccuracy: null };
          } else if (index === DIVERGED) {
            const curve = curveTo(0.4, 2);
            t = {
              ...t,
              status: 'failed',
              epochs: 2,
              curve,
              value: curve[1]!.valAccuracy,
              valAccuracy: curve[1]!.valAccuracy,
            };
          } else if (QUEUED.has(index)) {
            t = { ...t, status: 'queued', epochs: 0, curve: [], value: null, valAccuracy: null };
          }
          trials.push(t);
          index++;
        }
  const winner = trials
    .filter((t) => t.status === 'finished')
    .reduce((a, b) => (b.valAccuracy! > a.valAccuracy! ? b : a));
  return {
    sweepId: 'lecture-grid',
    config,
    trials,
    lecture: true,
    generatedAt: '2026-11-27T08:00:00Z',
    best: {
      index: winner.index,
      params: winner.params,
      valAccuracy: winner.valAccuracy!,
      testAccuracy: winner.valAccuracy! - 0.004,
    },
  };
}

/** the text of each findings bullet, unescaped */
function findingsOf(html: string): string[] {
  const list = /<ul class="findings">(.*?)<\/ul>/s.exec(html)?.[1] ?? '';
  return [...list.matchAll(/<li>(.*?)<\/li>/gs)].map((m) =>
    m[1]!
      .replace(/&amp;/g, '&')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'"),
  );
}

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
const SECTIONS = ['findings', 'best', 'best-so-far', 'curves', 'parallel', 'per-value', 'trials'];

describe('renderSweepReport: findings', () => {
  const input = lectureInput();
  const html = renderSweepReport(input);
  const finished = input.trials.filter((t) => t.status === 'finished');
  /** mean and best finished validation accuracy per value, computed here independently */
  const byValue = (path: string, value: unknown): { mean: number; best: number; n: number } => {
    const accs = finished.filter((t) => t.params[path] === value).map((t) => t.valAccuracy!);
    return { mean: accs.reduce((a, b) => a + b, 0) / accs.length, best: Math.max(...accs), n: accs.length };
  };
  const spread = (path: string, values: unknown[]): number => {
    const means = values.map((v) => byValue(path, v).mean);
    return Math.max(...means) - Math.min(...means);
  };

  it('is one self-contained document with the sections in order, findings first', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    const ids = [...html.matchAll(/<section id="([^"]+)"><h2>/g)].map((m) => m[1]);
    expect(ids).toEqual(SECTIONS);
    expect(html).toContain('<h2>What changed accuracy</h2>');
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/<link|<img|<iframe|@import|url\((?!#)/i);
    expect(html.split('\n').length).toBeLessThan(400);
  });

  it('the same input renders the same bytes (chart ids do not depend on what was rendered before)', () => {
    renderSweepReport({ ...input, sweepId: 'another' });
    expect(renderSweepReport(lectureInput())).toBe(html);
  });

  it('batch norm: the on/off sentence carries the independently computed means, bests and difference', () => {
    const on = byValue('model.norm', 'batch'),
      off = byValue('model.norm', 'none');
    const expected =
      `Batch norm: on reached a mean validation accuracy of ${pct(on.mean)} (best ${pct(on.best)}) against ` +
      `${pct(off.mean)} (best ${pct(off.best)}) off, +${((on.mean - off.mean) * 100).toFixed(1)} points.`;
    expect(findingsOf(html)).toContain(expected);
    // the synthetic truth: batch norm adds 2.5 points (noise is balanced to within a few tenths)
    expect(Math.abs(on.mean - off.mean - 0.025)).toBeLessThan(0.004);
  });

  it('activation: relu is best, by its spread over sigmoid, with every value listed by mean', () => {
    const s = findingsOf(html).find((f) => f.startsWith('Activation:'))!;
    const order = [...ACTIVATION].sort(
      (a, b) => byValue('model.activation', b).mean - byValue('model.activation', a).mean,
    );
    expect(order[0]).toBe('relu');
    expect(order[3]).toBe('sigmoid');
    const relu = byValue('model.activation', 'relu');
    expect(
      s.startsWith(
        `Activation: relu reached a mean validation accuracy of ${pct(relu.mean)} (best ${pct(relu.best)}) against `,
      ),
    ).toBe(true);
    for (const v of order.slice(1)) {
      const g = byValue('model.activation', v);
      expect(s).toContain(`${pct(g.mean)} (best ${pct(g.best)}) ${v}`);
    }
    expect(s.indexOf(' gelu')).toBeLessThan(s.indexOf(' tanh'));
    expect(s.indexOf(' tanh')).toBeLessThan(s.indexOf(' sigmoid'));
    expect(s).toContain(
      `+${(spread('model.activation', ACTIVATION) * 100).toFixed(1)} points over sigmoid; relu was best.`,
    );
  });

  it('orders the factors by effect size and names them as the lecture does', () => {
    const effects = [
      ['Dropout rate', spread('model.dropout', DROPOUT)],
      ['Activation', spread('model.activation', ACTIVATION)],
      ['Initialization', spread('model.init', INIT)],
      ['Batch norm', spread('model.norm', NORM)],
    ] as const;
    const expected = [...effects].sort((a, b) => b[1] - a[1]).map(([l]) => l);
    expect(expected).toEqual(['Activation', 'Batch norm', 'Dropout rate', 'Initialization']);
    expect(findingsOf(html).map((f) => f.split(':')[0])).toEqual(expected);
    const table = /<table class="effects">(.*?)<\/table>/s.exec(html)![1]!;
    for (const [label] of effects) expect(table).toContain(`<th scope="row">${label}</th>`);
    expect(table).toContain(`${(spread('model.norm', NORM) * 100).toFixed(1)} points`);
    expect(html).toContain('From 65 finished trials');
  });

  it('per-value tables: counts, means and bests per value', () => {
    const t = /<table class="pv" data-param="model.dropout">(.*?)<\/table>/s.exec(html)![1]!;
    for (const v of DROPOUT) {
      const g = byValue('model.dropout', v);
      expect(t).toContain(
        `<td>${v}</td><td class="num">${g.n} / 24</td><td class="num">${pct(g.mean)}</td><td class="num">${pct(g.best)}</td>`,
      );
    }
    expect(html).toMatch(/<td>on<\/td><td class="num">\d+ \/ 36<\/td>/);
  });

  it('the best section gives validation and test accuracy of the chosen configuration', () => {
    const b = input.best!;
    const sec = /<section id="best">(.*?)<\/section>/s.exec(html)![1]!;
    expect(sec).toContain(`#${b.index}`);
    expect(sec).toContain(pct(b.valAccuracy));
    expect(sec).toContain(pct(b.testAccuracy!));
    expect(sec).toContain('The test split is evaluated once, for this chosen configuration.');
  });

  it('escapes user-provided text and bins numeric parameters', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const config = sweepConfig({
      'model.activation': { distribution: 'values', values: [evil, 'a&b'] },
      'optimizer.lr': { distribution: 'log_uniform', min: 1e-4, max: 1e-1 },
    });
    const trials: TrialRecord[] = Array.from({ length: 12 }, (_, i) => {
      const acc = 0.8 + (i % 2) * 0.05 + (i < 4 ? 0.03 : 0);
      return {
        index: i,
        params: { 'model.activation': i % 2 ? evil : 'a&b', 'optimizer.lr': 1e-4 * 10 ** ((i + 0.5) / 4) },
        status: 'finished',
        value: acc,
        valAccuracy: acc,
        epochs: 2,
        curve: curveTo(acc, 2),
      };
    });
    const out = renderSweepReport({
      sweepId: '<b>id</b>',
      config,
      trials,
      best: null,
      lecture: false,
      generatedAt: 'now',
    });
    expect(out).not.toContain(evil);
    expect(out).not.toContain('<b>id</b>');
    expect(out).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(out).toContain('<h2>Findings</h2>');
    const f = findingsOf(out);
    expect(f.find((s) => s.startsWith(`model.activation: ${evil} reached`))).toBeDefined();
    // log bins of 1e-4..1e-1: 1e-4–0.001, 0.001–0.01, 0.01–0.1, four trials each; the first four are +3 points
    const lr = f.find((s) => s.startsWith('optimizer.lr: '))!;
    expect(lr).toBe(
      'optimizer.lr: 1e-4–0.001 reached a mean validation accuracy of 85.5% (best 88.0%) against ' +
        '82.5% (best 85.0%) at 0.001–0.01 and 82.5% (best 85.0%) at 0.01–0.1, +3.0 points over 0.01–0.1; 1e-4–0.001 was best.',
    );
  });

  it('zero finished trials: the report says so in every section that needs a finished trial', () => {
    const inp = lectureInput();
    const trials = inp.trials.map(
      (t): TrialRecord => ({ ...t, status: 'queued', value: null, valAccuracy: null, epochs: 0, curve: [] }),
    );
    const out = renderSweepReport({ ...inp, trials, best: null });
    expect([...out.matchAll(/<section id="([^"]+)">/g)].map((m) => m[1])).toEqual(SECTIONS);
    expect(out).toContain('No trial has finished yet, so there are no findings.');
    expect(out).toContain('No trial has finished yet; no configuration was chosen.');
    expect(out).not.toContain('<svg');
    expect((out.match(/<tr class="queued">/g) ?? []).length).toBe(72);
  });
});

const noBrowser = browserAvailable();
if (noBrowser) console.warn(`sweep-report browser checks skipped: ${noBrowser}`);

describe.skipIf(noBrowser !== null)(
  `sweep report in headless Chromium${noBrowser ? ` (skipped: ${noBrowser})` : ''}`,
  () => {
    const input = lectureInput();
    const dir = tempDir('gradwire-report-');
    const file = join(dir, 'report.html');
    let browser: Browser, page: Page;
    const consoleErrors: string[] = [],
      external: string[] = [];

    beforeAll(async () => {
      writeFileSync(file, renderSweepReport(input));
      browser = await launchBrowser();
      page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      page.on('pageerror', (e) => consoleErrors.push(String(e)));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) external.push(r.url());
      });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('every section is present, in order, and visible', async () => {
      expect(await page.$$eval('main > section', (s) => s.map((e) => e.id))).toEqual(SECTIONS);
      for (const id of SECTIONS) {
        const sec = page.locator(`section#${id}`);
        expect(await sec.isVisible(), id).toBe(true);
        expect((await sec.boundingBox())!.height, id).toBeGreaterThan(60);
        expect(await sec.locator('h2').isVisible(), id).toBe(true);
      }
      expect(await page.locator('#findings h2').textContent()).toBe('What changed accuracy');
    });

    it('the charts draw the expected lines', async () => {
      const withCurve = input.trials.filter((t) => t.curve.length > 0).length;
      const withValue = input.trials.filter((t) => t.value !== null).length;
      expect(withCurve).toBe(69);
      const finished = input.trials.filter((t) => t.status === 'finished').length;
      // best so far: one step line over a dot per finished trial
      expect(await page.locator('#best-so-far svg path.line').count()).toBe(1);
      expect(await page.locator('#best-so-far svg [data-series="trial"]').count()).toBe(finished);
      // a line per trial with a curve, each ending in one dot titled with its trial
      expect(await page.locator('#curves svg path.line').count()).toBe(withCurve);
      expect(await page.locator('#curves svg [data-series^="trial-"]').count()).toBe(withCurve);
      const best = page.locator(`#curves svg [data-series="trial-${input.best!.index}"]`);
      expect(await best.count()).toBe(1);
      expect(await best.locator('title').textContent()).toBe(
        `trial ${input.best!.index} (finished): ${pct(input.best!.valAccuracy)} at epoch ${EPOCHS}`,
      );
      // parallel coordinates: a line per trial with a value, the best one once (plus its outline)
      const lines =
        '#parallel svg [data-series="trial"], #parallel svg [data-series="unfinished"], #parallel svg [data-series="best"]';
      expect(await page.locator(lines).count()).toBe(withValue);
      expect(await page.locator('#parallel svg [data-series="best"]').count()).toBe(1);
      expect(await page.locator('#parallel svg [data-series="unfinished"]').count()).toBe(withValue - finished);
      // one axis per parameter plus the metric, named; categorical axes tick their values
      const labels = await page.locator('#parallel svg text').allTextContents();
      for (const v of ['Dropout rate', 'Activation', 'Initialization', 'Batch norm', 'valAccuracy'])
        expect(
          labels.filter((l) => l === v),
          v,
        ).toHaveLength(1);
      for (const v of ['relu', 'gelu', 'he_normal', 'on', 'off', '0.5']) expect(labels).toContain(v);
      // the SVGs really rendered with a size
      for (const id of ['best-so-far', 'curves', 'parallel']) {
        expect((await page.locator(`#${id} svg`).boundingBox())!.width, id).toBeGreaterThan(800);
      }
    });

    it('sorts the trials table by clicking a header', async () => {
      const col = async (i: number): Promise<string[]> =>
        page.$$eval(`#trials-table tbody tr td:nth-child(${i})`, (tds) =>
          tds.map((td) => td.getAttribute('data-v') ?? ''),
        );
      const headers = await page.locator('#trials-table thead th').allTextContents();
      const accCol = headers.indexOf('Val. accuracy') + 1;
      expect(accCol).toBeGreaterThan(0);
      await page.locator('#trials-table thead th', { hasText: 'Val. accuracy' }).click();
      const asc = await col(accCol);
      const nums = asc.filter((v) => v !== '').map(Number);
      expect(nums).toEqual([...nums].sort((a, b) => a - b));
      expect(asc.slice(nums.length).every((v) => v === '')).toBe(true); // nulls last
      await page.locator('#trials-table thead th', { hasText: 'Val. accuracy' }).click();
      const desc = (await col(accCol)).filter((v) => v !== '').map(Number);
      expect(desc).toEqual([...nums].sort((a, b) => b - a));
      expect(Number((await col(1))[0])).toBe(input.best!.index);
      expect(await page.locator('#trials-table thead th', { hasText: 'Val. accuracy' }).getAttribute('aria-sort')).toBe(
        'descending',
      );
      await page.locator('#trials-table thead th', { hasText: 'Activation' }).click();
      const acts = await col(headers.indexOf('Activation') + 1);
      expect(acts).toEqual([...acts].sort((a, b) => a.localeCompare(b)));
      await page.locator('#trials-table thead th', { hasText: 'Trial' }).click();
      expect((await col(1)).map(Number)).toEqual(input.trials.map((t) => t.index));
    });

    it('no console errors and no request beyond the file itself', () => {
      expect(consoleErrors).toEqual([]);
      expect(external).toEqual([]);
    });

    it('saves a full-page screenshot', async () => {
      const png = join(dir, 'report.png');
      await page.screenshot({ path: png, fullPage: true });
      expect(statSync(png).size).toBeGreaterThan(10_000);
      expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    });
  },
);
