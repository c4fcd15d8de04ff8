// `gradwire report RUN` has an "Evaluation on the test split" section: the numbers `gradwire
// evaluate --json` prints for the same run (loss, accuracy, per-class precision/recall/F1, the
// confusion matrix), read back from the HTML by a real parser (headless Chromium's DOM), with
// class names that need escaping shown as written.
import { renameSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../helpers/browser.js';
import { gradwire, tempDir } from '../helpers/cli.js';

const CLASSES = ['<i>x</i>', 'a&b', "o'k"];
const unavailable = browserAvailable();

let dir: string;
let runId: string;
let browser: Browser | undefined;

/** three blobs in 4 features, overlapping a little (so that the confusion matrix is not diagonal) */
function blobsCsv(): string {
  const lines = ['f1,f2,f3,f4,kind'];
  for (let i = 0; i < 150; i++) {
    const k = i % 3;
    const f = [0, 1, 2, 3].map((j) => (k * 1.2 + Math.sin(i * 1.7 + j * 2.3) * 1.1).toFixed(3));
    lines.push(`${f.join(',')},${CLASSES[k]}`);
  }
  return `${lines.join('\n')}\n`;
}

const ok = async (args: string[]): Promise<string> => {
  const r = await gradwire(args, { cwd: dir, env: { GRADWIRE_STORE: '' } });
  expect(r.status, `gradwire ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
};

interface Shown {
  title: string;
  note: string;
  kpis: string[];
  perClass: Array<{ name: string; values: number[]; texts: string[] }>;
  head: string[];
  confusion: Array<{ name: string; values: number[] }>;
}

/** the section as a browser's DOM has it */
async function shown(html: string): Promise<Shown | null> {
  const page = await browser!.newPage();
  try {
    await page.setContent(html);
    return await page.evaluate(() => {
      const s = document.querySelector('section#evaluation');
      if (!s) return null;
      const cells = (tr: Element) => [...tr.querySelectorAll('td')];
      return {
        title: s.querySelector('h2')!.textContent!,
        note: s.querySelector('p')!.textContent!,
        kpis: [...s.querySelectorAll('.kpis > div')].map((d) => d.textContent!),
        perClass: [...s.querySelectorAll('#per-class tbody tr')].map((tr) => ({
          name: tr.querySelector('th')!.textContent!,
          values: cells(tr).map((td) => Number(td.getAttribute('data-v'))),
          texts: cells(tr).map((td) => td.textContent!),
        })),
        head: [...s.querySelectorAll('#confusion thead th')].map((th) => th.textContent!),
        confusion: [...s.querySelectorAll('#confusion tbody tr')].map((tr) => ({
          name: tr.querySelector('th')!.textContent!,
          values: cells(tr).map((td) => Number(td.textContent)),
        })),
      };
    });
  } finally {
    await page.close();
  }
}

beforeAll(async () => {
  dir = tempDir('gradwire-report-eval-');
  writeFileSync(join(dir, 'blobs.csv'), blobsCsv());
  writeFileSync(
    join(dir, 'run.yaml'),
    'seed: 4\ndata: { name: csv, path: blobs.csv, labelColumn: kind }\nmodel: { hidden: [8], norm: batch }\noptimizer: { name: adam, lr: 0.02 }\nbatchSize: 16\nepochs: 4\n',
  );
  await ok([
    'train',
    '--config',
    'run.yaml',
    '--in-process',
    '--out',
    'run',
    '--store',
    's.db',
    '--log-format',
    'json',
  ]);
  runId = JSON.parse(readFileSync(join(dir, 'run/summary.json'), 'utf8')).runId;
  if (!unavailable) browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

describe('gradwire report: evaluation on the test split', () => {
  it.skipIf(unavailable)(
    "the section's numbers are evaluate --json's; class names are escaped and shown as written",
    async () => {
      const e = JSON.parse(await ok(['evaluate', '--model', 'run', '--json']));
      expect(e.classNames).toEqual([...CLASSES].sort());
      await ok(['report', runId, '--store', 's.db', '--out', 'r.html']);
      const html = readFileSync(join(dir, 'r.html'), 'utf8');
      // no class name reaches the page as markup
      expect(html).not.toContain('<i>x</i>');
      const s = (await shown(html))!;
      expect(s).not.toBeNull();
      expect(s.title).toBe('Evaluation on the test split');
      expect(s.note).toMatch(new RegExp(`^${e.samples} samples of the run's test split`));
      expect(s.kpis).toEqual([
        `Test loss${e.loss.toFixed(4)}`,
        `Test accuracy${(e.accuracy * 100).toFixed(2)}% (${e.correct}/${e.samples})`,
      ]);
      const metric = (m: { precision: number; recall: number; f1: number }, support: number): number[] => [
        m.precision,
        m.recall,
        m.f1,
        support,
      ];
      expect(s.perClass.map((r) => r.name)).toEqual([...e.classNames, 'macro avg', 'weighted avg']);
      expect(s.perClass.map((r) => r.values)).toEqual([
        ...e.perClass.map((c: { support: number } & Parameters<typeof metric>[0]) => metric(c, c.support)),
        metric(e.macro, e.samples),
        metric(e.weighted, e.samples),
      ]);
      for (const r of s.perClass) expect(r.texts.slice(0, 3)).toEqual(r.values.slice(0, 3).map((v) => v.toFixed(3)));
      expect(s.head).toEqual(['actual \\ predicted', ...e.classNames]);
      expect(s.confusion).toEqual(e.classNames.map((name: string, i: number) => ({ name, values: e.confusion[i] })));
      // the same numbers summary.json has for the test split
      const summary = JSON.parse(readFileSync(join(dir, 'run/summary.json'), 'utf8'));
      expect(e.accuracy).toBe(summary.testAccuracy);
    },
  );

  it('a run whose folder is gone: the report is still written, the section says why it is empty', async () => {
    renameSync(join(dir, 'run'), join(dir, 'moved'));
    try {
      await ok(['report', runId, '--store', 's.db', '--out', 'r2.html']);
      const html = readFileSync(join(dir, 'r2.html'), 'utf8');
      const start = html.indexOf('<section id="evaluation"');
      const section = html.slice(start, html.indexOf('</section>', start));
      expect(section).toContain(`Not evaluated: the run&#39;s folder ${join(dir, 'run')} is gone (moved or deleted?).`);
    } finally {
      renameSync(join(dir, 'moved'), join(dir, 'run'));
    }
  });
});
