// The sweep report: findings checked against independently computed numbers, then the written
// file opened in headless Chromium (file://, no network) and looked at like a user would.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { renderSweepReport, type SweepReportInput } from '../../coordinator/report/sweep-report.js';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import { spread as spreadOf } from '../../shared/sweep/stats.js';
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
  return [...html.matchAll(/<p class="factor"[^>]*>(.*?)<\/p>/gs)].map((m) =>
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

  it('one seed per configuration: noise cannot be assessed, and no value is named best', () => {
    expect(html).toContain('Noise cannot be assessed: ');
    expect(html).toMatch(/grid is incomplete|one seed/);
    const paras = findingsOf(html);
    expect(paras).toHaveLength(4);
    for (const p of paras) {
      expect(p).toContain('the seed-to-seed noise cannot be assessed, so no value is named best.');
      expect(p).not.toMatch(/\bwas best\b|\bis highest\b/);
    }
    // the level means still appear, computed here independently
    const on = byValue('model.norm', 'batch'),
      off = byValue('model.norm', 'none');
    const norm = paras.find((f) => f.startsWith('Batch norm:'))!;
    expect(norm).toBe(
      `Batch norm: the mean validation accuracy of its two values spans ${((on.mean - off.mean) * 100).toFixed(1)} points (on ${pct(on.mean)} and off ${pct(off.mean)}), but the seed-to-seed noise cannot be assessed, so no value is named best.`,
    );
    const table = /<table class="effects">(.*?)<\/table>/s.exec(html)![1]!;
    expect((table.match(/<td>noise not assessed<\/td>/g) ?? []).length).toBe(4);
  });

  it('orders the factors by the spread of their means and names them as the lecture does', () => {
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
    expect(html).toContain('From 65 finished configurations (65 finished runs;');
    // one seed: no interval is drawn or written
    expect(html).not.toContain('data-series="interval"');
    expect(html).not.toContain(' ± ');
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
    expect(out).toContain('<h2>What changed accuracy</h2>');
    expect(out).toContain('Noise cannot be assessed: the sweep is not a full grid of listed values');
    const f = findingsOf(out);
    expect(f.find((s) => s.startsWith(`model.activation: the mean validation accuracy`))).toContain(evil);
    // log bins of 1e-4..1e-1: 1e-4–0.001, 0.001–0.01, 0.01–0.1, four trials each; the first four are +3 points
    const lr = f.find((s) => s.startsWith('optimizer.lr: '))!;
    expect(lr).toBe(
      'optimizer.lr: the mean validation accuracy of its three ranges spans 3.0 points (at 1e-4–0.001 85.5%, at 0.001–0.01 82.5% and at 0.01–0.1 82.5%), ' +
        'but the seed-to-seed noise cannot be assessed, so no value is named best.',
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

// ---- with seeds: every configuration of the lecture grid trained with 3 seeds ----------------

/** the synthetic truth of the seeded grid: initialization has no effect at all */
const SEEDED_EFFECT: Record<string, Record<string, number>> = {
  'model.dropout': { 0: 0, 0.2: -0.004, 0.5: -0.015 },
  'model.activation': { relu: 0.02, gelu: 0.02, tanh: 0, sigmoid: -0.03 },
  'model.init': { lecun_normal: 0, xavier_uniform: 0, he_normal: 0 },
  'model.norm': { none: 0, batch: 0.012 },
};
const K = 3;

/** a reproducible normal stream (mulberry32, Box–Muller) */
function normals(seed: number): () => number {
  let x = seed >>> 0;
  const u = (): number => {
    x = (x + 0x6d2b79f5) >>> 0;
    let t = x;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

function seededInput(): SweepReportInput {
  const config = { ...sweepConfig(lectureInput().config.parameters), seeds: K, earlyStopping: null };
  const z = normals(16);
  const trials: TrialRecord[] = [];
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
          const mu =
            0.92 +
            SEEDED_EFFECT['model.dropout']![dropout]! +
            SEEDED_EFFECT['model.activation']![activation]! +
            SEEDED_EFFECT['model.init']![init]! +
            SEEDED_EFFECT['model.norm']![norm]!;
          // seed-to-seed sd of one run: 0.5 points
          const accs = Array.from({ length: K }, () => +(mu + 0.005 * z()).toFixed(4));
          const sp = spreadOf(accs)!;
          const index = trials.length;
          trials.push({
            index,
            params,
            status: 'finished',
            value: sp.mean,
            valAccuracy: sp.mean,
            epochs: 4,
            curve: curveTo(sp.mean, 4),
            seeds: accs.map((a, k) => ({
              seedIndex: k,
              seed: 3 + k,
              runId: `s-t${index}${k ? `-s${k}` : ''}`,
              status: 'finished',
              value: a,
              valAccuracy: a,
              epochs: 4,
            })),
            spread: sp,
            valAccuracySpread: sp,
          });
        }
  const winner = trials.reduce((a, b) => (b.valAccuracy! > a.valAccuracy! ? b : a));
  return {
    sweepId: 'lecture-seeds',
    config,
    trials,
    lecture: true,
    generatedAt: '2026-12-03T23:00:00Z',
    best: { index: winner.index, params: winner.params, valAccuracy: winner.valAccuracy!, testAccuracy: 0.95 },
  };
}

describe('renderSweepReport with 3 seeds per configuration: intervals and the F-test', () => {
  const input = seededInput();
  const html = renderSweepReport(input);
  const paras = findingsOf(html);
  const para = (label: string): string => paras.find((p) => p.startsWith(`${label}:`))!;
  /** a level's mean over its configurations' means, computed here */
  const levelMean = (path: string, value: unknown): number => {
    const ms = input.trials.filter((t) => t.params[path] === value).map((t) => t.valAccuracy!);
    return ms.reduce((a, b) => a + b, 0) / ms.length;
  };

  it('states the test it uses, with its degrees of freedom', () => {
    const test = /<p class="test" id="the-test">(.*?)<\/p>/s.exec(html)![1]!;
    expect(test).toContain('main-effect F-test of the 72-configuration factorial grid (3 seeds per configuration)');
    expect(test).toContain('the seed-to-seed variation within configurations as the error term');
    expect(test).toContain('df = (levels − 1, configurations × (seeds − 1)) = (levels − 1, 144)');
    expect(test).toContain('when p &lt; 0.05');
    expect(html).toContain('From 72 finished configurations (216 finished runs;');
  });

  it('initialization (no true effect): within noise, with its F and p, and no level named best', () => {
    const init = para('Initialization');
    expect(init).toMatch(
      /^Initialization: no measurable effect — the three levels are within \d\.\d points \(F\(2, 144\) = [\d.]+, p = 0\.\d+\); /,
    );
    expect(init).toContain('No level is better than another beyond the seed-to-seed noise.');
    expect(init).not.toMatch(/best|highest|is higher/);
    const p = Number(/p = (0\.\d+)/.exec(init)![1]);
    expect(p).toBeGreaterThanOrEqual(0.05);
    for (const v of INIT) expect(init).toContain(`${v}: ${pct(levelMean('model.init', v))} (`);
    expect(html).toMatch(
      /<tr data-param="model.init" data-verdict="noise"><th scope="row">Initialization<\/th><td>within noise<\/td>/,
    );
    // nor is one marked in its per-value table; batch norm's (an effect, two levels) is
    const pv = (path: string): string =>
      new RegExp(`<table class="pv" data-param="${path}">(.*?)</table>`, 's').exec(html)![1]!;
    expect(pv('model.init')).not.toContain('<tr class="top">');
    expect(pv('model.norm')).toContain('<tr class="top"><td>on</td>');
    // activation's two highest overlap: none marked
    expect(pv('model.activation')).not.toContain('<tr class="top">');
  });

  it('activation, batch norm and dropout: larger than noise, level means with intervals', () => {
    for (const [label, path] of [
      ['Activation', 'model.activation'],
      ['Batch norm', 'model.norm'],
      ['Dropout rate', 'model.dropout'],
    ] as const) {
      const s = para(label);
      expect(s).toMatch(
        new RegExp(
          `^${label}: changes accuracy by more than the seed-to-seed noise \\(F\\(\\d, 144\\) [=>] [\\d.]+, p < 0\\.001\\)\\. Mean validation accuracy: `,
        ),
      );
      expect(html).toContain(`<tr data-param="${path}" data-verdict="effect">`);
    }
    const norm = para('Batch norm');
    const on = levelMean('model.norm', 'batch'),
      off = levelMean('model.norm', 'none');
    expect(norm).toMatch(
      new RegExp(
        `on: ${pct(on).replace('.', '\\.')} \\(\\d+\\.\\d–\\d+\\.\\d%\\) and off: ${pct(off).replace('.', '\\.')} \\(`,
      ),
    );
    expect(norm).toContain(`Batch norm on is higher by ${((on - off) * 100).toFixed(1)} points.`);
    // relu and gelu are equal in truth: not told apart
    expect(para('Activation')).toContain('The two highest, relu and gelu, have overlapping intervals');
    // the factors in order of F: activation first, initialization last
    expect(paras.map((p) => p.split(':')[0])[0]).toBe('Activation');
    expect(paras.map((p) => p.split(':')[0])[3]).toBe('Initialization');
  });

  it('the trials table shows each configuration as mean ± 95% interval (3 seeds)', () => {
    for (const t of input.trials.slice(0, 10)) {
      const sp = spreadOf(t.seeds!.map((x) => x.valAccuracy))!;
      const text = `${(sp.mean * 100).toFixed(1)} ± ${(((sp.hi - sp.lo) / 2) * 100).toFixed(1)}% (3 seeds)`;
      expect(html).toContain(`<td class="num" data-v="${t.valAccuracy}">${text}</td>`);
    }
    const best = /<section id="best">(.*?)<\/section>/s.exec(html)![1]!;
    expect(best).toMatch(/\d+\.\d ± \d\.\d% \(3 seeds\)/);
    expect(best).toContain('by their mean over 3 seeds');
  });

  it('the charts draw the intervals: a whisker per configuration and per level', () => {
    expect(html.match(/data-series="interval"/g)?.length).toBe(72);
    expect(html.match(/data-series="level-interval"/g)?.length).toBe(3 + 4 + 3 + 2);
    expect(html.match(/data-series="level-mean"/g)?.length).toBe(12);
  });

  it('a seed run that failed: the configuration shows 2 of 3 seeds; the test uses unweighted means', () => {
    const inp = seededInput();
    const t = inp.trials[5]!;
    t.seeds![2] = { ...t.seeds![2]!, status: 'failed', value: null, valAccuracy: null };
    const sp = spreadOf(t.seeds!.map((x) => x.valAccuracy))!;
    t.valAccuracySpread = t.spread = sp;
    t.valAccuracy = t.value = sp.mean;
    const out = renderSweepReport(inp);
    expect(out).toContain('(2 of 3 seeds)</td>');
    expect(out).toContain('(levels − 1, 143)');
    expect(out).toContain('unweighted means; some seed runs did not finish');
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

    it('with 3 seeds: the error bars are drawn, one per configuration and one per level', async () => {
      const seeded = join(dir, 'seeded.html');
      writeFileSync(seeded, renderSweepReport(seededInput()));
      const p = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      try {
        await p.goto(pathToFileURL(seeded).href, { waitUntil: 'load' });
        const bars = p.locator('#best-so-far svg path[data-series="interval"]');
        expect(await bars.count()).toBe(72);
        const levels = p.locator('#findings svg path[data-series="level-interval"]');
        expect(await levels.count()).toBe(12);
        // each drawn with a height (the interval) and a width (its caps), with its tooltip
        for (const b of [bars.nth(0), bars.nth(71), levels.nth(0), levels.nth(11)]) {
          const box = (await b.boundingBox())!;
          expect(box.height).toBeGreaterThan(1);
          expect(box.width).toBeGreaterThanOrEqual(6);
        }
        expect(await levels.nth(0).locator('title').textContent()).toMatch(/^Activation: relu: 95% interval /);
        await p.screenshot({ path: join(dir, 'seeded.png'), fullPage: true });
      } finally {
        await p.close();
      }
    });

    it('saves a full-page screenshot', async () => {
      const png = join(dir, 'report.png');
      await page.screenshot({ path: png, fullPage: true });
      expect(statSync(png).size).toBeGreaterThan(10_000);
      expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    });
  },
);
