// The "Evaluation on the test split" section of a run's report: the numbers `gradwire evaluate`
// computes (coordinator/model/evaluate.ts) — loss, accuracy, per-class precision/recall/F1 and
// the confusion matrix — as escaped HTML, each value unrounded in data-v beside its text.
import { html, type HtmlValue, type SafeHtml } from '../../shared/html.js';
import type { Evaluation } from '../model/evaluate.js';
import { finite, pct2 } from './experiments.js';

export const EVALUATION_CSS =
  '.evalgrid{display:flex;flex-wrap:wrap;gap:12px 28px;align-items:flex-start}table#confusion caption{text-align:left;font-weight:600;padding-bottom:4px}';

function section(id: string, title: string, body: HtmlValue): SafeHtml {
  return html`<section id="${id}"><h2>${title}</h2>${body}</section>`;
}

const note = (text: string): SafeHtml => html`<p class="empty">${text}</p>`;
const kpi = (k: string, v: string): SafeHtml => html`<div><span class="k">${k}</span><span class="v">${v}</span></div>`;
const fmt4 = (v: number): string => (finite(v) ? v.toFixed(4) : '-');
const f3 = (v: number): string => (finite(v) ? v.toFixed(3) : '-');

/** loss, accuracy, per-class precision/recall/F1 and the confusion matrix of the test split,
 *  the numbers of `gradwire evaluate --model RUN` (data-v: each value unrounded) */
export function evaluationSection(r: string, e: Evaluation | string): SafeHtml {
  const title = 'Evaluation on the test split';
  if (typeof e === 'string') return section('evaluation', title, note(e));
  const names = e.classNames;
  const num = (v: number, text = f3(v)): SafeHtml => html`<td class="num" data-v="${v}">${text}</td>`;
  const metricRow = (name: string, m: { precision: number; recall: number; f1: number }, support: number): SafeHtml =>
    html`<tr><th scope="row">${name}</th>${num(m.precision)}${num(m.recall)}${num(m.f1)}${num(support, String(support))}</tr>`;
  const perClass = html`<div class="scroll"><table id="per-class"><thead><tr>${['Class', 'Precision', 'Recall', 'F1', 'Support'].map((h) => html`<th scope="col">${h}</th>`)}</tr></thead><tbody>${e.perClass.map((c, i) => metricRow(names[i]!, c, c.support))}${metricRow('macro avg', e.macro, e.samples)}${metricRow('weighted avg', e.weighted, e.samples)}</tbody></table></div>`;
  const confusion = html`<div class="scroll"><table id="confusion"><caption>Confusion matrix (rows: the actual class, columns: the predicted one)</caption><thead><tr><th scope="col">actual \\ predicted</th>${names.map((n) => html`<th scope="col">${n}</th>`)}</tr></thead><tbody>${e.confusion.map((row, i) => html`<tr><th scope="row">${names[i]!}</th>${row.map((v) => num(v, String(v)))}</tr>`)}</tbody></table></div>`;
  return section(
    'evaluation',
    title,
    html`<p class="muted">${`${e.samples} samples of the run's test split, through its checkpoint in eval mode: the numbers of gradwire evaluate --model ${r} (${e.model}).`}</p><div class="kpis">${kpi('Test loss', fmt4(e.loss))}${kpi('Test accuracy', `${pct2(e.accuracy)} (${e.correct}/${e.samples})`)}</div><div class="evalgrid">${perClass}${confusion}</div>`,
  );
}
