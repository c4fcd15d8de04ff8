// Small helpers for the reports' inline SVG: scales, ticks, a colour map and a framed x/y plot.
// Markup is built with shared/html.ts's `html` (every interpolation escaped) and returned as
// SafeHtml; nothing here touches the file system.

import { html, type HtmlValue, type SafeHtml } from '../../shared/html.js';

export { html };

/** a coordinate rounded to 0.1 px */
export function px(n: number): string {
  return String(Math.round(n * 10) / 10);
}

export type Scale = (v: number) => number;

export function linearScale([d0, d1]: [number, number], [r0, r1]: [number, number]): Scale {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

export function logScale([d0, d1]: [number, number], range: [number, number]): Scale {
  const lin = linearScale([Math.log10(d0), Math.log10(d1)], range);
  return (v) => lin(Math.log10(v));
}

/** round-numbered ticks (1, 2, 2.5, 5 × 10^k) covering [min, max] */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step - 1e-9) * step; t <= max + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

/** powers of ten inside [min, max]; the ends as well when fewer than two fall inside */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let k = Math.ceil(Math.log10(min) - 1e-9); 10 ** k <= max * (1 + 1e-9); k++)
    ticks.push(+(10 ** k).toPrecision(12));
  return ticks.length >= 2 ? ticks : [min, ...ticks.filter((t) => t !== min && t !== max), max];
}

/** a number for people: 3 significant digits, exponent form when very small or large */
export function fmtNum(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace(/\.0e/, 'e');
  return String(+v.toPrecision(3));
}

/** a fraction in [0, 1] as a percentage with one decimal */
export function pct(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}

const VIRIDIS: Array<[number, number, number]> = [
  [68, 1, 84],
  [65, 68, 135],
  [42, 120, 142],
  [34, 168, 132],
  [122, 209, 81],
  [253, 231, 37],
];

/** viridis colour for t in [0, 1] (dark purple = worse, yellow = better) */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const a = VIRIDIS[i]!,
    b = VIRIDIS[i + 1]!,
    f = x - i;
  const c = a.map((v, k) => Math.round(v + (b[k]! - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** gradient stops for a viridis legend */
export function viridisStops(): SafeHtml {
  return html`${VIRIDIS.map((_, i) => html`<stop offset="${px((i / (VIRIDIS.length - 1)) * 100)}%" stop-color="${viridis(i / (VIRIDIS.length - 1))}"/>`)}`;
}

/** an <svg> element scaled to its container's width */
export function svgDoc(width: number, height: number, label: string, body: HtmlValue): SafeHtml {
  return html`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${label}"><title>${label}</title>${body}</svg>`;
}

/** a polyline with a class (and an optional tooltip) */
export function polyline(points: Array<[number, number]>, cls: string, title?: string): SafeHtml {
  const pts = points.map(([x, y]) => `${px(x)},${px(y)}`).join(' ');
  return title === undefined
    ? html`<polyline points="${pts}" class="${cls}"/>`
    : html`<polyline points="${pts}" class="${cls}"><title>${title}</title></polyline>`;
}

export interface FrameOptions {
  width: number;
  height: number;
  xDomain: [number, number];
  yDomain: [number, number];
  xTicks: number[];
  yTicks: number[];
  xFormat: (v: number) => string;
  yFormat: (v: number) => string;
  xLabel: string;
  yLabel: string;
}

export interface Frame {
  x: Scale;
  y: Scale;
  /** grid lines, tick labels and axis titles */
  axes: SafeHtml;
}

/** a plot area with a left y axis and a bottom x axis, light grid lines and axis titles */
export function frame(o: FrameOptions): Frame {
  const left = 64,
    right = 16,
    top = 12,
    bottom = 44;
  const x = linearScale(o.xDomain, [left, o.width - right]);
  const y = linearScale(o.yDomain, [o.height - bottom, top]);
  const parts: SafeHtml[] = [];
  for (const t of o.yTicks) {
    parts.push(
      html`<line class="grid" x1="${left}" x2="${o.width - right}" y1="${px(y(t))}" y2="${px(y(t))}"/>`,
      html`<text class="tick" x="${left - 6}" y="${px(y(t) + 4)}" text-anchor="end">${o.yFormat(t)}</text>`,
    );
  }
  for (const t of o.xTicks) {
    parts.push(
      html`<text class="tick" x="${px(x(t))}" y="${o.height - bottom + 16}" text-anchor="middle">${o.xFormat(t)}</text>`,
    );
  }
  parts.push(
    html`<line class="axis" x1="${left}" x2="${o.width - right}" y1="${o.height - bottom}" y2="${o.height - bottom}"/>`,
    html`<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${o.height - bottom}"/>`,
    html`<text class="label" x="${px((left + o.width - right) / 2)}" y="${o.height - 8}" text-anchor="middle">${o.xLabel}</text>`,
    html`<text class="label" transform="translate(14 ${px((top + o.height - bottom) / 2)}) rotate(-90)" text-anchor="middle">${o.yLabel}</text>`,
  );
  return { x, y, axes: html`${parts}` };
}
