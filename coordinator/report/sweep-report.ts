// The sweep report: one self-contained HTML file (inline CSS, SVG charts drawn by sweep-charts.ts,
// the inline script of sort-table.ts to sort the trials table). No request leaves the file: a CSP
// forbids every external source.
import type { ParamSpec, SweepConfig, TrialRecord } from '../../shared/sweep/types.js';
import { CSS } from './style.js';
import { html, raw, type HtmlValue, type SafeHtml } from '../../shared/html.js';
import { fmtNum, pct } from './experiments.js';
import { bestSoFarChart, curvesChart, levelChart, parallelChart, type Labels } from './sweep-charts.js';
import { ALPHA, type FactorTest, fmtF, fmtP, mainEffects, seedValues } from '../../shared/sweep/effects.js';
import { SORT_TABLE_SCRIPT } from './sort-table.js';

export interface SweepReportInput {
  sweepId: string;
  config: SweepConfig;
  trials: TrialRecord[];
  best: {
    index: number;
    params: Record<string, unknown>;
    valAccuracy: number;
    testAccuracy: number | null;
  } | null;
  /** name the lecture's factors (Dropout rate, Activation, Initialization, Batch norm) */
  lecture: boolean;
  generatedAt: string;
}

/** the lecture's names for its four factors, and for the values of batch norm */
const LECTURE: Record<string, { label: string; values?: Record<string, string> }> = {
  'model.dropout': { label: 'Dropout rate' },
  'model.activation': { label: 'Activation' },
  'model.init': { label: 'Initialization' },
  'model.norm': { label: 'Batch norm', values: { none: 'off', batch: 'on' } },
};

const fin = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** a parameter value as written in a config */
export function rawValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(+v.toPrecision(4));
  if (v === undefined) return '';
  return JSON.stringify(v) ?? String(v);
}

function labels(lecture: boolean): Labels {
  return {
    param: (p) => (lecture && LECTURE[p] ? LECTURE[p].label : p),
    value: (p, v) => {
      const raw = rawValue(v);
      return (lecture && LECTURE[p]?.values?.[raw]) || raw;
    },
  };
}

interface Group {
  label: string;
  accs: number[];
  total: number;
}
export interface Factor {
  path: string;
  label: string;
  groups: Group[];
  effect: number | null;
  sentence: string;
  /** the F-test's verdict: larger than the seed-to-seed noise, within it, or not assessable */
  verdict: 'effect' | 'noise' | 'unassessed';
  test: FactorTest | null;
  /** the label of the level whose mean is above every other level's interval (an effect only) */
  clearTop: string | null;
}

/** groups of a parameter: its values, or 3 bins of a numeric range (log bins for log_uniform) */
function groupsOf(
  path: string,
  spec: ParamSpec,
  trials: TrialRecord[],
  L: Labels,
): Array<Group & { has: (v: unknown) => boolean }> {
  if (spec.distribution === 'values') {
    const values = [...spec.values],
      keys = values.map((v) => JSON.stringify(v));
    for (const t of trials) {
      const v = t.params[path],
        k = JSON.stringify(v);
      if (v !== undefined && !keys.includes(k)) {
        keys.push(k);
        values.push(v);
      }
    }
    return values.map((v, i) => ({
      label: L.value(path, v),
      accs: [],
      total: 0,
      has: (x: unknown) => JSON.stringify(x) === keys[i],
    }));
  }
  const { min, max } = spec;
  let edges: number[];
  if (spec.distribution === 'int' && max - min < 5)
    edges = Array.from({ length: max - min + 2 }, (_, i) => min + i - 0.5);
  else if (spec.distribution === 'log_uniform' && min > 0)
    edges = [0, 1, 2, 3].map((i) => +(min * (max / min) ** (i / 3)).toPrecision(12));
  else edges = [0, 1, 2, 3].map((i) => min + ((max - min) * i) / 3);
  if (spec.distribution === 'int' && max - min >= 5)
    edges = edges.map((e, i) => (i === 0 || i === 3 ? e : Math.round(e)));
  return edges.slice(1).map((hi, i) => {
    const lo = edges[i]!,
      last = i === edges.length - 2;
    const label = spec.distribution === 'int' && max - min < 5 ? String(lo + 0.5) : `${fmtNum(lo)}–${fmtNum(hi)}`;
    return {
      label,
      accs: [],
      total: 0,
      has: (x: unknown) =>
        typeof x === 'number' && (i === 0 ? x >= lo - 1e-12 : x > lo) && (last ? x <= hi + 1e-12 : x <= hi),
    };
  });
}

const points = (d: number): string => `${Math.abs(d * 100).toFixed(1)}`;
const NUMBER_WORDS = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
const count = (n: number): string => NUMBER_WORDS[n] ?? String(n);
/** "91.2% (90.8–91.6%)" */
const withInterval = (m: number, lo: number, hi: number): string => `${pct(m)} (${(lo * 100).toFixed(1)}–${pct(hi)})`;
const list = (xs: string[]): string =>
  xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;

/** a configuration's metric with its 95% interval over the seeds: "91.2 ± 0.6% (3 seeds)";
 *  one seed (or no seeds field): "91.2%" */
export function accuracyText(t: TrialRecord): string {
  if (!fin(t.valAccuracy)) return '–';
  const s = t.valAccuracySpread;
  const k = t.seeds?.length ?? 1;
  if (!s || s.n < 2) return k > 1 ? `${pct(t.valAccuracy)} (${s?.n ?? 0} of ${k} seeds)` : pct(t.valAccuracy);
  const half = (s.hi - s.lo) / 2;
  return `${(s.mean * 100).toFixed(1)} ± ${(half * 100).toFixed(1)}% (${s.n === k ? s.n : `${s.n} of ${k}`} seeds)`;
}

/** per parameter: validation accuracy of finished trials by value (or bin), the spread between
 *  the highest and lowest mean, and a sentence in plain words with the verdict of the F-test
 *  (effects.ts) when the sweep is a full grid with seeds; ordered by the test's F (significant
 *  first), else by the spread */
export function sweepFindings(config: SweepConfig, trials: TrialRecord[], lecture: boolean): Factor[] {
  const L = labels(lecture);
  const done = trials.filter((t) => t.status === 'finished' && fin(t.valAccuracy));
  const tests = mainEffects(config, trials);
  const factors = Object.entries(config.parameters).map(([path, spec]): Factor => {
    const groups = groupsOf(path, spec, trials, L);
    for (const t of trials) {
      const g = groups.find((g) => g.has(t.params[path]));
      if (!g) continue;
      g.total++;
      if (done.includes(t)) g.accs.push(t.valAccuracy!);
    }
    const seen = groups.filter((g) => g.accs.length > 0).sort((a, b) => mean(b.accs) - mean(a.accs));
    const label = L.param(path);
    const test = tests.ok ? tests.factors.find((f) => f.path === path) : undefined;
    let sentence: string,
      effect: number | null = null,
      verdict: Factor['verdict'] = 'unassessed',
      clearTop: string | null = null;
    if (test && test.df1 > 0) {
      effect = test.range;
      const levels = [...test.levels].sort((a, b) => b.mean - a.mean);
      const named = levels.map((l) => `${L.value(path, l.value)}: ${withInterval(l.mean, l.lo, l.hi)}`);
      const lv = (v: unknown): string =>
        /^[-+.\d]/.test(L.value(path, v)) || L.value(path, v) === 'on' || L.value(path, v) === 'off'
          ? `${label} ${L.value(path, v)}`
          : L.value(path, v);
      const stat = `${fmtF(test)}, ${fmtP(test.p)}`;
      if (test.significant) {
        verdict = 'effect';
        const [top, second] = levels;
        const clear = top && second && (levels.length === 2 || top.lo > second.hi);
        if (clear) clearTop = L.value(path, top.value);
        const lowest = levels[levels.length - 1]!;
        sentence =
          `${label}: changes accuracy by more than the seed-to-seed noise (${stat}). Mean validation accuracy: ${list(named)}. ` +
          (levels.length === 2
            ? `${lv(top!.value)} is higher by ${points(top!.mean - lowest.mean)} points.`
            : clear
              ? `${lv(top!.value)} is highest, its interval clear of the others'; ${lv(lowest.value)} is lowest, ${points(top!.mean - lowest.mean)} points below.`
              : `The two highest, ${L.value(path, top!.value)} and ${L.value(path, second!.value)}, have overlapping intervals: which of them is better is not settled; highest to lowest is ${points(test.range)} points.`);
      } else {
        verdict = 'noise';
        sentence =
          `${label}: no measurable effect — the ${count(levels.length)} levels are within ${points(test.range)} points (${stat}); ${list(named)}. ` +
          'No level is better than another beyond the seed-to-seed noise.';
      }
    } else if (seen.length === 0) sentence = `${label}: no finished trial to compare.`;
    else if (seen.length === 1)
      sentence = `${label}: only ${seen[0]!.label} was observed among finished trials, with a mean validation accuracy of ${pct(mean(seen[0]!.accs))}.`;
    else {
      effect = mean(seen[0]!.accs) - mean(seen[seen.length - 1]!.accs);
      const named = seen.map((g) => `${/^[-+.\d]/.test(g.label) ? 'at ' : ''}${g.label} ${pct(mean(g.accs))}`);
      sentence =
        `${label}: the mean validation accuracy of its ${count(seen.length)} ${spec.distribution === 'values' ? 'values' : 'ranges'} spans ${points(effect)} points (${list(named)}), ` +
        'but the seed-to-seed noise cannot be assessed, so no value is named best.';
    }
    return { path, label, groups, effect, sentence, verdict, test: test ?? null, clearTop };
  });
  const rank = (f: Factor): number => (f.test ? (Number.isFinite(f.test.f) ? f.test.f : 1e12) : (f.effect ?? -1));
  return factors.sort((a, b) => rank(b) - rank(a));
}

function section(id: string, title: string, body: HtmlValue): SafeHtml {
  return html`<section id="${id}"><h2>${title}</h2>${body}</section>`;
}

const note = (text: string): SafeHtml => html`<p class="empty">${text}</p>`;

const VERDICT = { effect: 'larger than noise', noise: 'within noise', unassessed: 'noise not assessed' } as const;

/** the test as the report states it */
function testStatement(config: SweepConfig, trials: TrialRecord[]): { ok: boolean; text: string } {
  const r = mainEffects(config, trials);
  if (!r.ok)
    return {
      ok: false,
      text: `Noise cannot be assessed: ${r.reason}. A difference between values below may be seed-to-seed noise, so no value is named best; train every configuration of a grid with seeds: 3 or more to test it.`,
    };
  const k = r.balanced
    ? `${r.seedsPerCell} seeds`
    : `${r.seedsPerCell.toFixed(2)} seeds on average (unweighted means; some seed runs did not finish)`;
  return {
    ok: true,
    text:
      `The test: for each factor, the main-effect F-test of the ${r.cells}-configuration factorial grid (${k} per configuration), ` +
      `with the seed-to-seed variation within configurations as the error term: F = (mean square between the factor's levels) / (within-configuration mean square), ` +
      `df = (levels − 1, configurations × (seeds − 1)) = (levels − 1, ${r.dfError}). ` +
      `A factor changes accuracy when p < ${ALPHA}; otherwise its effect is within the seed-to-seed noise (sd of one run ${points(r.seedSd)} points) and no level is named best. ` +
      "Level means are over the factor's configurations, with 95% intervals from the same error term (Student's t).",
  };
}

function findingsSection(inp: SweepReportInput, factors: Factor[], nDone: number): SafeHtml {
  const title = 'What changed accuracy';
  if (nDone === 0) return section('findings', title, note('No trial has finished yet, so there are no findings.'));
  const stated = testStatement(inp.config, inp.trials);
  const maxEffect = Math.max(1e-9, ...factors.map((f) => f.effect ?? 0));
  const rows = factors.map((f) => {
    const bar =
      f.effect === null
        ? ''
        : html`<span class="bar ${f.verdict}" style="width:${((f.effect / maxEffect) * 100).toFixed(1)}%"></span>`;
    return html`<tr data-param="${f.path}" data-verdict="${f.verdict}"><th scope="row">${f.label}</th><td>${VERDICT[f.verdict]}</td><td class="num">${f.test ? `${fmtF(f.test)}, ${fmtP(f.test.p)}` : '–'}</td><td class="num">${f.effect === null ? '–' : `${points(f.effect)} points`}</td><td class="barcell">${bar}</td></tr>`;
  });
  const runs = inp.trials.reduce((a, t) => a + seedValues(t).length, 0);
  const chart = stated.ok
    ? html`<p class="muted">Each level's mean validation accuracy with its 95% interval; grey: the factor's effect is within the seed-to-seed noise.</p>${levelChart(
        factors.flatMap((f) =>
          (f.test?.levels ?? []).map((l) => ({
            factor: f.label,
            level: labels(inp.lecture).value(f.path, l.value),
            mean: l.mean,
            lo: l.lo,
            hi: l.hi,
            effect: f.verdict === 'effect',
          })),
        ),
      )}`
    : '';
  return section(
    'findings',
    title,
    html`<p>From ${nDone} finished configuration${nDone === 1 ? '' : 's'} (${runs} finished run${runs === 1 ? '' : 's'}; stopped, failed and unfinished ones are left out).</p><p class="test" id="the-test">${stated.text}</p><table class="effects"><thead><tr><th>Factor</th><th>Verdict</th><th>Test</th><th>Highest − lowest level mean</th><th></th></tr></thead><tbody>${rows}</tbody></table>${factors.map((f) => html`<p class="factor" data-param="${f.path}" data-verdict="${f.verdict}">${f.sentence}</p>`)}${chart}`,
  );
}

function bestSection(inp: SweepReportInput, L: Labels): SafeHtml {
  const b = inp.best;
  if (!b) return section('best', 'Best configuration', note('No trial has finished yet; no configuration was chosen.'));
  const params = Object.keys(inp.config.parameters).concat(
    Object.keys(b.params).filter((k) => !(k in inp.config.parameters)),
  );
  const rows = params.map(
    (p) => html`<tr><th scope="row" title="${p}">${L.param(p)}</th><td>${L.value(p, b.params[p])}</td></tr>`,
  );
  const test = b.testAccuracy === null ? 'not evaluated' : pct(b.testAccuracy);
  const bt = inp.trials.find((t) => t.index === b.index);
  const seeds = bt?.valAccuracySpread && bt.valAccuracySpread.n > 1 ? bt.valAccuracySpread.n : 1;
  return section(
    'best',
    'Best configuration',
    html`<div class="kpis"><div><span class="k">Trial</span><span class="v">#${b.index}</span></div><div><span class="k">Validation accuracy</span><span class="v">${seeds > 1 && bt ? accuracyText(bt) : pct(b.valAccuracy)}</span></div><div><span class="k">Test accuracy</span><span class="v">${test}</span></div></div><table class="params"><tbody>${rows}</tbody></table><p class="muted">Trials were compared on the validation split only${seeds > 1 ? `, by their mean over ${seeds} seeds; a configuration whose interval overlaps this one may be as good` : ''}. The test split is evaluated once, for this chosen configuration.</p>`,
  );
}

function bestSoFarSection(inp: SweepReportInput): SafeHtml {
  const { name, goal } = inp.config.metric;
  const done = inp.trials.filter((t) => t.status === 'finished' && fin(t.value)).sort((a, b) => a.index - b.index);
  if (done.length === 0) return section('best-so-far', 'Best so far', note('No trial has finished yet.'));
  const maxIdx = Math.max(1, ...inp.trials.map((t) => t.index));
  return section(
    'best-so-far',
    'Best so far',
    html`<p class="muted">${`${goal === 'maximize' ? 'Highest' : 'Lowest'} ${name} after each finished trial, in trial index order; dots are the trials themselves.`}</p>${bestSoFarChart(inp.config.metric, done, maxIdx)}`,
  );
}

function curvesSection(inp: SweepReportInput): SafeHtml {
  const withCurve = inp.trials.filter((t) => t.curve.some((c) => fin(c.valAccuracy))).sort((a, b) => a.index - b.index);
  if (withCurve.length === 0) return section('curves', 'Learning curves', note('No learning curve recorded yet.'));
  return section(
    'curves',
    'Learning curves',
    html`<p class="muted">Validation accuracy per epoch, one line per trial; the dot at a line's end names its trial.</p>${curvesChart(withCurve, inp.best?.index)}`,
  );
}

function parallelSection(inp: SweepReportInput, L: Labels): SafeHtml {
  const { name } = inp.config.metric;
  const rows = inp.trials.filter((t) => fin(t.value)).sort((a, b) => a.index - b.index);
  if (rows.length === 0) return section('parallel', 'Parallel coordinates', note('No trial has a metric value yet.'));
  const log = Object.values(inp.config.parameters).some((s) => s.distribution === 'log_uniform')
    ? ' Log-uniform parameters use a log axis.'
    : '';
  const unfinished = rows.some((t) => t.status !== 'finished')
    ? ' Stopped and failed trials are grey and dashed, clamped to the metric axis.'
    : '';
  return section(
    'parallel',
    'Parallel coordinates',
    html`<p class="muted">${`One line per trial with a ${name}, through the value of each parameter; colour shows the ${name} of finished trials (red worse, green better), the thick outlined line is the best trial.${unfinished}${log}`}</p>${parallelChart(inp.config, rows, inp.best?.index, L)}`,
  );
}

function perValueSection(inp: SweepReportInput, factors: Factor[]): SafeHtml {
  const cats = Object.entries(inp.config.parameters).filter(([, s]) => s.distribution === 'values');
  if (cats.length === 0)
    return section('per-value', 'Accuracy per value', note('No categorical parameter in this sweep.'));
  const tables = cats.map(([path]) => {
    const f = factors.find((x) => x.path === path)!;
    const rows = f.groups.map((g) => {
      const has = g.accs.length > 0;
      return html`${has && f.clearTop === g.label ? html`<tr class="top">` : html`<tr>`}<td>${g.label}</td><td class="num">${g.accs.length} / ${g.total}</td><td class="num">${has ? pct(mean(g.accs)) : '–'}</td><td class="num">${has ? pct(Math.max(...g.accs)) : '–'}</td></tr>`;
    });
    return html`<table class="pv" data-param="${path}"><caption>${f.label}</caption><thead><tr><th>Value</th><th>Trials (finished / all)</th><th>Mean val. accuracy</th><th>Best val. accuracy</th></tr></thead><tbody>${rows}</tbody></table>`;
  });
  return section('per-value', 'Accuracy per value', html`<div class="pvgrid">${tables}</div>`);
}

function trialsSection(inp: SweepReportInput, L: Labels): SafeHtml {
  const params = Object.keys(inp.config.parameters);
  const head = ['Trial', 'Status', ...params.map((p) => L.param(p)), 'Val. accuracy', 'Epochs'].map((h, i) =>
    i >= 2 && i < 2 + params.length
      ? html`<th scope="col" title="${params[i - 2]}">${h}</th>`
      : html`<th scope="col">${h}</th>`,
  );
  const cell = (text: string, key: string | number, num = false): SafeHtml =>
    num ? html`<td class="num" data-v="${key}">${text}</td>` : html`<td data-v="${key}">${text}</td>`;
  const rows = [...inp.trials]
    .sort((a, b) => a.index - b.index)
    .map((t) => {
      const ps = params.map((p) => {
        const v = t.params[p];
        return cell(rawValue(v), typeof v === 'number' ? v : rawValue(v), typeof v === 'number');
      });
      return html`<tr class="${t.status}${t.index === inp.best?.index ? ' top' : ''}">${cell(String(t.index), t.index, true)}<td data-v="${t.status}"><span class="status ${t.status}">${t.status}</span></td>${ps}${cell(accuracyText(t), fin(t.valAccuracy) ? t.valAccuracy : '', true)}${cell(String(t.epochs), t.epochs, true)}</tr>`;
    });
  return section(
    'trials',
    'All trials',
    html`<p class="muted">Click a column header to sort; click again to reverse.</p><div class="scroll"><table class="sortable" id="trials-table"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`,
  );
}

/** the whole report as one HTML document */
export function renderSweepReport(inp: SweepReportInput): string {
  const L = labels(inp.lecture);
  const factors = sweepFindings(inp.config, inp.trials, inp.lecture);
  const nDone = inp.trials.filter((t) => t.status === 'finished' && fin(t.valAccuracy)).length;
  const counts = (['finished', 'stopped', 'failed', 'running', 'queued'] as const)
    .map((s) => [s, inp.trials.filter((t) => t.status === s).length] as const)
    .filter(([, c]) => c > 0)
    .map(([s, c]) => `${c} ${s}`);
  const { metric, method } = inp.config;
  const title = `Sweep ${inp.sweepId}`;
  return html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${raw(CSS)}</style></head><body>
<header><h1>${title}</h1><p class="meta">${`${inp.trials.length} trial${inp.trials.length === 1 ? '' : 's'}${counts.length ? `: ${counts.join(', ')}` : ''} · method ${method} · metric ${metric.name} (${metric.goal})`}</p></header>
<main>
${findingsSection(inp, factors, nDone)}
${bestSection(inp, L)}
${bestSoFarSection(inp)}
${curvesSection(inp)}
${parallelSection(inp, L)}
${perValueSection(inp, factors)}
${trialsSection(inp, L)}
</main>
<footer>${`Generated ${inp.generatedAt} by gradwire.`}</footer>
<script>${raw(SORT_TABLE_SCRIPT)}</script>
</body></html>
`.value;
}
