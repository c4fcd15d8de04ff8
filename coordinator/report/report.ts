// `gradwire report`: one run or sweep as a self-contained HTML file (inline CSS, SVG charts drawn
// by charts.ts, no script, no request leaves the file: a CSP forbids every external source). A
// sweep's report is the one written at the end of the sweep (sweep-report.ts), rebuilt from the store.
import type { RunConfig } from '../../shared/config-types.js';
import { canonicalJson, parseSweepConfig } from '../../shared/sweep/config.js';
import type { SweepConfig } from '../../shared/sweep/types.js';
import { sha256Hex } from '../store/outputs.js';
import type { RunSummary } from '../store/outputs.js';
import type { Store, StoredEpochRow, RunRecord, SweepRecord } from '../store/store.js';
import { html, raw, type HtmlValue, type SafeHtml } from '../../shared/html.js';
import { EPOCH_SERIES, epochChart, throughputChart } from './run-charts.js';
import { LECTURE_PRESET } from '../../shared/sweep/presets.js';
import { rawValue, renderSweepReport, type SweepReportInput } from './sweep-report.js';
import { CSS } from './style.js';
import type { Evaluation } from '../model/evaluate.js';
import { EVALUATION_CSS, evaluationSection } from './evaluation.js';
import { finite, fmtNum, pct2, sweepBest, trialIndexFromId, when, type Found } from './experiments.js';

/** the HTML report of what was found; `evaluation`: a run's test split as `gradwire evaluate`
 *  computes it, or why it is not there */
export function renderFound(
  f: Found,
  generatedAt = new Date().toISOString(),
  evaluation: Evaluation | string | null = null,
): string {
  if (f.kind === 'sweep') return renderSweepReport(sweepReportInput(f.store, f.sweep, generatedAt));
  const r = f.run;
  let trial: RunReportInput['trial'] = null;
  if (r.kind === 'trial' && r.sweepId) {
    const row = f.store.trialRows(r.sweepId).find((t) => t.runId === r.id);
    const index = row?.index ?? trialIndexFromId(r.id);
    trial = { sweepId: r.sweepId, index, params: row?.params ?? null, status: row?.status ?? null };
  }
  return renderRunReport({ run: r, epochs: f.store.epochs(r.id), store: f.store.path, trial, generatedAt, evaluation });
}

// ---- the sweep report from the store ----------------------------------------------------------

let lectureHash: string | undefined;

/** was this sweep `--preset lecture`? (its config hash is the preset's) */
function isLecture(rec: SweepRecord): boolean {
  lectureHash ??= sha256Hex(
    new TextEncoder().encode(
      canonicalJson(
        parseSweepConfig(LECTURE_PRESET, () => {
          throw new Error('the preset has no base file');
        }),
      ),
    ),
  );
  return rec.configHash === lectureHash;
}

export function sweepReportInput(store: Store, rec: SweepRecord, generatedAt: string): SweepReportInput {
  const config = rec.config as SweepConfig;
  const trials = store.trials(rec.id);
  const best = sweepBest(rec, trials);
  return {
    sweepId: rec.id,
    config,
    trials,
    lecture: isLecture(rec),
    generatedAt,
    best: best
      ? {
          index: best.index,
          params: best.params,
          valAccuracy: best.valAccuracy ?? NaN,
          testAccuracy: best.testAccuracy,
        }
      : null,
  };
}

// ---- the run report ---------------------------------------------------------------------------

export interface RunReportInput {
  run: RunRecord;
  epochs: StoredEpochRow[];
  /** the store it came from */
  store: string;
  /** a sweep's trial: its sweep, index and parameters */
  trial: {
    sweepId: string;
    index: number | null;
    params: Record<string, unknown> | null;
    status: string | null;
  } | null;
  generatedAt: string;
  /** the test split as `gradwire evaluate` computes it, or why it is not there (null: no section) */
  evaluation?: Evaluation | string | null;
}

const RUN_CSS = `
.status.stopped{background:#fff1c2}.status.running{background:#e8ecf3}
table.kv th{font-weight:600;color:var(--muted);width:200px}table.kv td{white-space:normal;word-break:break-all}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px}.chart h3{font-size:15px;margin:4px 0}
pre.json{background:#f3f5f9;border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto;font-size:13px}
.cfggrid{display:flex;flex-wrap:wrap;gap:12px 28px;align-items:flex-start}table.config caption{text-align:left;font-weight:600;padding-bottom:4px}
table.config th{width:auto}details summary{cursor:pointer;color:var(--blue);margin:8px 0}code{font-size:13px}
${EVALUATION_CSS}`;

function section(id: string, title: string, body: HtmlValue): SafeHtml {
  return html`<section id="${id}"><h2>${title}</h2>${body}</section>`;
}

const note = (text: string): SafeHtml => html`<p class="empty">${text}</p>`;

/** the model as the config describes it (the input and output widths need the data) */
function modelFromConfig(c: RunConfig): string {
  const m = c.model;
  if (!m) return '-';
  if (m.layers) return `${m.layers.length} explicit layers`;
  const extras = [
    m.activation,
    m.init,
    m.norm !== 'none' ? `${m.norm} norm` : '',
    m.dropout ? `dropout ${m.dropout}` : '',
  ].filter(Boolean);
  return `MLP, hidden [${m.hidden.join(', ')}], ${extras.join(', ')}`;
}

function duration(a: string, b: string | null): string {
  if (!b) return '-';
  const s = (Date.parse(b) - Date.parse(a)) / 1000;
  if (!Number.isFinite(s) || s < 0) return '-';
  return s < 120 ? `${s.toFixed(1)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(2)} h`;
}

const STATUS_NOTE: Record<string, string> = {
  finished: '',
  stopped:
    'Stopped before its end (SIGTERM or Ctrl-C): a checkpoint was written to its output folder; the same command with the same --out resumes it.',
  failed: 'The run failed with an error (see its log); the numbers below are those of its recorded epochs.',
  running: 'Still running when this report was made, or its process was killed without a chance to record its end.',
};

function kpi(k: string, v: string): SafeHtml {
  return html`<div><span class="k">${k}</span><span class="v">${v}</span></div>`;
}

function summarySection(inp: RunReportInput): SafeHtml {
  const { run: r, epochs } = inp;
  const s = r.summary as RunSummary | null;
  const c = r.config as RunConfig;
  const last = epochs[epochs.length - 1];
  const meanSps = epochs.filter((e) => finite(e.samplesPerSecond));
  const sps = s
    ? s.samplesPerSecond
    : meanSps.length
      ? meanSps.reduce((a, e) => a + e.samplesPerSecond, 0) / meanSps.length
      : NaN;
  const valAcc = s ? s.valAccuracy : (last?.valAccuracy ?? NaN);
  const testText =
    s?.testAccuracy != null ? pct2(s.testAccuracy) : r.kind === 'trial' ? 'not evaluated' : s ? 'not evaluated' : '-';
  const kpis = html`<div class="kpis">${kpi('Test accuracy', testText)}${kpi('Validation accuracy', pct2(valAcc))}${kpi('Samples/s', finite(sps) ? String(Math.round(sps * 10) / 10) : '-')}${kpi('Epochs', `${s ? s.epochs : epochs.length} / ${c?.epochs ?? '?'}`)}</div>`;
  const rows: Array<[string, string]> = [];
  const add = (k: string, v: string | number | null | undefined): void => {
    if (v !== null && v !== undefined && v !== '') rows.push([k, String(v)]);
  };
  add('Status', `${r.status}${s?.stoppedEarly ? ' (stopped early by the sweep’s early stopping)' : ''}`);
  add('Kind', r.kind === 'trial' ? 'sweep trial' : 'run');
  if (inp.trial)
    add(
      'Sweep',
      `${inp.trial.sweepId}, trial #${inp.trial.index ?? '?'}${inp.trial.status ? ` (${inp.trial.status})` : ''}`,
    );
  if (inp.trial?.params)
    add(
      'Trial parameters',
      Object.entries(inp.trial.params)
        .map(([k, v]) => `${k} = ${rawValue(v)}`)
        .join(', '),
    );
  add(
    'Model',
    s ? `${s.model} (${s.paramCount.toLocaleString('en-US')} parameters) · ${modelFromConfig(c)}` : modelFromConfig(c),
  );
  add(
    'Optimizer',
    c?.optimizer
      ? `${c.optimizer.name}, lr ${rawValue(c.optimizer.lr)}${c.optimizer.schedule?.name && c.optimizer.schedule.name !== 'constant' ? `, ${c.optimizer.schedule.name} schedule` : ''}`
      : null,
  );
  add('Batch size', c ? `${c.batchSize} (microbatch ${c.microbatch})` : null);
  add(
    'Dataset',
    s
      ? `${s.dataset.name}: ${s.dataset.samples} samples, ${s.dataset.train} train / ${s.dataset.val} val / ${s.dataset.test} test`
      : c?.data?.name,
  );
  add('Dataset sha256', s?.dataset.sha256);
  add(
    'Mode',
    s
      ? s.mode === 'distributed'
        ? `distributed, ${s.workers} worker${s.workers === 1 ? '' : 's'}`
        : 'in-process'
      : 'unknown (recorded at the end of the run)',
  );
  add('Kernel', s?.kernel);
  add('Epochs', `${s ? s.epochs : epochs.length} of ${c?.epochs ?? '?'}${s ? '' : ' (recorded)'}`);
  add('Steps', s ? `${s.steps}${s.skippedSteps ? ` (${s.skippedSteps} skipped: non-finite)` : ''}` : last?.step);
  if (s?.resumedFromStep) add('Resumed from step', s.resumedFromStep);
  add(
    'Train loss / accuracy',
    s
      ? `${fmt4(s.trainLoss)} / ${pct2(s.trainAccuracy)}`
      : last
        ? `${fmt4(last.trainLoss)} / ${pct2(last.trainAccuracy)}`
        : null,
  );
  add(
    'Validation loss / accuracy',
    s
      ? `${fmt4(s.valLoss)} / ${pct2(s.valAccuracy)}`
      : last
        ? `${fmt4(last.valLoss)} / ${pct2(last.valAccuracy)}`
        : null,
  );
  add('Test loss / accuracy', s?.testAccuracy != null ? `${fmt4(s.testLoss)} / ${pct2(s.testAccuracy)}` : testText);
  add(
    'Samples/s',
    s
      ? `${s.samplesPerSecond} (training samples over training time)`
      : finite(sps)
        ? `${Math.round(sps)} (mean of the recorded epochs)`
        : null,
  );
  add('Training time', s ? `${s.trainSeconds} s (wall ${s.wallSeconds} s)` : null);
  add('Weights sha256', s?.weightsSha256);
  add('Created', `${when(r.createdAt)} UTC`);
  add(
    'Finished',
    r.finishedAt ? `${when(r.finishedAt)} UTC (${duration(r.createdAt, r.finishedAt)} after it was created)` : '-',
  );
  add('Experiment store', inp.store);
  const statusNote = STATUS_NOTE[r.status] ?? '';
  return section('summary', 'Summary', [
    kpis,
    statusNote ? html`<p class="muted">${statusNote}</p>` : '',
    inp.trial
      ? html`<p class="muted">${`A trial of sweep ${inp.trial.sweepId}: trials are compared on the validation split; the test split is evaluated once, for the sweep's best configuration. The sweep's report: gradwire report ${inp.trial.sweepId}`}</p>`
      : '',
    html`<table class="kv"><tbody>${rows.map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`)}</tbody></table>`,
  ]);
}

const fmt4 = (v: number | null | undefined): string => (finite(v) ? v.toFixed(4) : '-');

function curvesSection(inp: RunReportInput): SafeHtml {
  const e = inp.epochs;
  if (e.length === 0)
    return section(
      'curves',
      'Learning curves',
      note('No epochs recorded: the run ended (or is still in) its first epoch.'),
    );
  const S = EPOCH_SERIES;
  const charts = [
    epochChart({ id: 'loss', title: 'Loss', yName: 'loss', zero: true, epochs: e, series: [S.trainLoss, S.valLoss] }),
    epochChart({
      id: 'accuracy',
      title: 'Accuracy',
      yName: 'accuracy',
      percent: true,
      epochs: e,
      series: [S.trainAccuracy, S.valAccuracy],
    }),
  ];
  const lrs = e.map((r) => r.lr).filter(finite);
  if (lrs.length > 1 && Math.max(...lrs) !== Math.min(...lrs)) {
    charts.push(
      epochChart({
        id: 'lr',
        title: 'Learning rate',
        yName: 'learning rate (last step of the epoch)',
        zero: true,
        epochs: e,
        series: [S.lr],
      }),
    );
  }
  const bestVal = e.reduce<StoredEpochRow | null>(
    (b, r) => (finite(r.valAccuracy) && (!b || r.valAccuracy > b.valAccuracy) ? r : b),
    null,
  );
  return section(
    'curves',
    'Learning curves',
    html`<p class="muted">${`Per epoch: the training loss and accuracy are means over the epoch's steps; the validation ones are measured after the epoch.${bestVal ? ` Best validation accuracy ${pct2(bestVal.valAccuracy)} at epoch ${bestVal.epoch}.` : ''}`}</p><div class="charts">${charts}</div>`,
  );
}

function throughputSection(inp: RunReportInput): SafeHtml {
  const e = inp.epochs.filter((r) => finite(r.samplesPerSecond));
  if (e.length === 0) return section('throughput', 'Throughput', note('No epochs recorded.'));
  const vals = e.map((r) => r.samplesPerSecond);
  const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
  const s = inp.run.summary as RunSummary | null;
  return section(
    'throughput',
    'Throughput',
    html`<p class="muted">${`Training samples per second of each epoch (time in training steps; validation not included). Mean ${Math.round(mean)} samples/s over ${e.length} epoch${e.length === 1 ? '' : 's'} (dashed line)${s ? `; the whole run: ${s.samplesPerSecond} samples/s` : ''}.`}</p>${throughputChart(e, mean)}`,
  );
}

function epochsSection(inp: RunReportInput): SafeHtml {
  const e = inp.epochs;
  if (e.length === 0) return section('epochs', 'Per-epoch values', note('No epochs recorded.'));
  const head = ['Epoch', 'Step', 'Train loss', 'Train acc.', 'Val. loss', 'Val. acc.', 'LR', 'Samples/s'];
  const rows = e.map(
    (r) =>
      html`<tr><td class="num">${r.epoch}</td><td class="num">${r.step}</td><td class="num">${fmt4(r.trainLoss)}</td><td class="num">${pct2(r.trainAccuracy)}</td><td class="num">${fmt4(r.valLoss)}</td><td class="num" data-v="${finite(r.valAccuracy) ? r.valAccuracy : ''}">${pct2(r.valAccuracy)}</td><td class="num">${finite(r.lr) ? fmtNum(r.lr) : '-'}</td><td class="num">${finite(r.samplesPerSecond) ? r.samplesPerSecond : '-'}</td></tr>`,
  );
  return section(
    'epochs',
    'Per-epoch values',
    html`<div class="scroll"><table id="epochs-table"><thead><tr>${head.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table></div>`,
  );
}

/** a config as dotted paths and values (lists of numbers or strings as JSON, in one cell) */
function flatten(v: unknown, prefix: string, out: Array<[string, string]>): Array<[string, string]> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) out.push([prefix, '{}']);
    for (const [k, x] of entries) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.push([prefix, typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v))]);
  }
  return out;
}

function configSection(inp: RunReportInput): SafeHtml {
  // one table per top-level object (data, model, optimizer), the scalars first in one of their own
  const rows = flatten(inp.run.config, '', []);
  const groups = new Map<string, Array<[string, string]>>();
  const cfg = (inp.run.config ?? {}) as Record<string, unknown>;
  for (const [k, v] of rows) {
    const top = k.split('.')[0]!;
    const g = cfg[top] !== null && typeof cfg[top] === 'object' && !Array.isArray(cfg[top]) ? top : 'run';
    groups.set(g, [...(groups.get(g) ?? []), [g === 'run' ? k : k.slice(g.length + 1), v]]);
  }
  const order = ['run', ...[...groups.keys()].filter((g) => g !== 'run')].filter((g) => groups.has(g));
  const tables = order.map(
    (g) =>
      html`<table class="kv config" data-group="${g}"><caption>${g}</caption><tbody>${groups.get(g)!.map(([k, v]) => html`<tr><th scope="row" title="${g === 'run' ? k : `${g}.${k}`}">${k}</th><td><code>${v}</code></td></tr>`)}</tbody></table>`,
  );
  return section(
    'config',
    'Config',
    html`<p class="muted">The resolved run config (every default filled in), as recorded when the run started.</p><div class="cfggrid">${tables}</div><details><summary>As JSON</summary><pre class="json">${JSON.stringify(inp.run.config, null, 2)}</pre></details>`,
  );
}

/** a run's (or trial's) report as one HTML document */
export function renderRunReport(inp: RunReportInput): string {
  const r = inp.run;
  const s = r.summary as RunSummary | null;
  const c = r.config as RunConfig;
  const title = `${r.kind === 'trial' ? 'Trial' : 'Run'} ${r.id}`;
  const meta = [
    inp.trial ? `trial #${inp.trial.index ?? '?'} of sweep ${inp.trial.sweepId}` : null,
    s ? s.model : null,
    s?.dataset.name ?? c?.data?.name ?? null,
    s ? (s.mode === 'distributed' ? `${s.workers} worker${s.workers === 1 ? '' : 's'}` : 'in-process') : null,
    `created ${when(r.createdAt)} UTC`,
  ]
    .filter(Boolean)
    .join(' · ');
  return html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${raw(CSS + RUN_CSS)}</style></head><body>
<header><h1>${title}</h1><p class="meta"><span class="status ${r.status}">${r.status}</span> ${meta}</p></header>
<main>
${summarySection(inp)}
${curvesSection(inp)}
${throughputSection(inp)}
${inp.evaluation ? evaluationSection(r.id, inp.evaluation) : ''}
${epochsSection(inp)}
${configSection(inp)}
</main>
<footer>${`Generated ${inp.generatedAt} by gradwire from the experiment store ${inp.store}.`}</footer>
</body></html>
`.value;
}
