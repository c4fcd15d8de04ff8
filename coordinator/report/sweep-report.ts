// The sweep report: one self-contained HTML file (inline CSS, SVG charts drawn by sweep-charts.ts,
// the inline script of sort-table.ts to sort the trials table). No request leaves the file: a CSP
// forbids every external source.
import type { ParamSpec, SweepConfig, TrialRecord } from '../../shared/sweep/types.js';
import { CSS } from './style.js';
import { html, raw, type HtmlValue, type SafeHtml } from '../../shared/html.js';
import { fmtNum, pct } from './experiments.js';
import { bestSoFarChart, curvesChart, parallelChart, type Labels } from './sweep-charts.js';
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

const stat = (g: Group): string => `${pct(mean(g.accs))} (best ${pct(Math.max(...g.accs))})`;
const points = (d: number): string => `${d >= 0 ? '+' : '−'}${Math.abs(d * 100).toFixed(1)}`;

/** per parameter: validation accuracy of finished trials by value (or bin), the spread between
 *  the best and worst mean, and a sentence; ordered by that spread, largest first */
export function sweepFindings(config: SweepConfig, trials: TrialRecord[], lecture: boolean): Factor[] {
  const L = labels(lecture);
  const done = trials.filter((t) => t.status === 'finished' && fin(t.valAccuracy));
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
    let sentence: string,
      effect: number | null = null;
    if (seen.length === 0) sentence = `${label}: no finished trial to compare.`;
    else if (seen.length === 1)
      sentence = `${label}: only ${seen[0]!.label} was observed among finished trials, with a mean validation accuracy of ${stat(seen[0]!)}.`;
    else {
      const top = seen[0]!,
        rest = seen.slice(1),
        worst = seen[seen.length - 1]!;
      effect = mean(top.accs) - mean(worst.accs);
      const others = rest.map((g) => `${stat(g)} ${/^[-+.\d]/.test(g.label) ? 'at ' : ''}${g.label}`);
      const list =
        others.length === 1 ? others[0] : `${others.slice(0, -1).join(', ')} and ${others[others.length - 1]}`;
      sentence =
        `${label}: ${top.label} reached a mean validation accuracy of ${stat(top)} against ${list}, ${points(effect)} points` +
        (rest.length > 1 ? ` over ${worst.label}; ${top.label} was best.` : '.');
    }
    return { path, label, groups, effect, sentence };
  });
  return factors.sort((a, b) => (b.effect ?? -1) - (a.effect ?? -1));
}

function section(id: string, title: string, body: HtmlValue): SafeHtml {
  return html`<section id="${id}"><h2>${title}</h2>${body}</section>`;
}

const note = (text: string): SafeHtml => html`<p class="empty">${text}</p>`;

function findingsSection(inp: SweepReportInput, factors: Factor[], nDone: number): SafeHtml {
  const title = inp.lecture ? 'What changed accuracy' : 'Findings';
  if (nDone === 0) return section('findings', title, note('No trial has finished yet, so there are no findings.'));
  const maxEffect = Math.max(1e-9, ...factors.map((f) => f.effect ?? 0));
  const rows = factors.map((f) => {
    const top = f.groups.filter((g) => g.accs.length).sort((a, b) => mean(b.accs) - mean(a.accs))[0];
    const bar =
      f.effect === null
        ? ''
        : html`<span class="bar" style="width:${((f.effect / maxEffect) * 100).toFixed(1)}%"></span>`;
    return html`<tr><th scope="row">${f.label}</th><td>${top?.label ?? '–'}</td><td class="num">${f.effect === null ? '–' : `${(f.effect * 100).toFixed(1)} points`}</td><td class="barcell">${bar}</td></tr>`;
  });
  return section(
    'findings',
    title,
    html`<p>From ${nDone} finished trial${nDone === 1 ? '' : 's'} (stopped, failed and unfinished trials are left out). Each factor is ranked by how much it changed the mean validation accuracy: the spread between its best and its worst value.</p><table class="effects"><thead><tr><th>Factor</th><th>Best value</th><th>Effect on mean accuracy</th><th></th></tr></thead><tbody>${rows}</tbody></table><ul class="findings">${factors.map((f) => html`<li>${f.sentence}</li>`)}</ul>`,
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
  return section(
    'best',
    'Best configuration',
    html`<div class="kpis"><div><span class="k">Trial</span><span class="v">#${b.index}</span></div><div><span class="k">Validation accuracy</span><span class="v">${pct(b.valAccuracy)}</span></div><div><span class="k">Test accuracy</span><span class="v">${test}</span></div></div><table class="params"><tbody>${rows}</tbody></table><p class="muted">Trials were compared on the validation split only. The test split is evaluated once, for this chosen configuration.</p>`,
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
    const best = Math.max(...f.groups.filter((g) => g.accs.length).map((g) => mean(g.accs)));
    const rows = f.groups.map((g) => {
      const has = g.accs.length > 0;
      return html`${has && mean(g.accs) === best ? html`<tr class="top">` : html`<tr>`}<td>${g.label}</td><td class="num">${g.accs.length} / ${g.total}</td><td class="num">${has ? pct(mean(g.accs)) : '–'}</td><td class="num">${has ? pct(Math.max(...g.accs)) : '–'}</td></tr>`;
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
      return html`<tr class="${t.status}${t.index === inp.best?.index ? ' top' : ''}">${cell(String(t.index), t.index, true)}<td data-v="${t.status}"><span class="status ${t.status}">${t.status}</span></td>${ps}${cell(fin(t.valAccuracy) ? pct(t.valAccuracy) : '–', fin(t.valAccuracy) ? t.valAccuracy : '', true)}${cell(String(t.epochs), t.epochs, true)}</tr>`;
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
