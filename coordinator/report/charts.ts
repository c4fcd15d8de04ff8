// The reports' one chart module: every chart of the run and sweep reports is an ECharts option
// rendered here to a static SVG string with ECharts' server-side renderer (no DOM, no script, no
// animation), styled like the live dashboard (coordinator/web/dashboard/: ECharts' default
// palette, legend on top, symbols on short lines, dashed accuracy lines). The SVG is made
// deterministic (ids prefixed by the chart's own id, ECharts' hover stylesheet dropped) and given
// stable hooks: each drawn data item carries data-series="<series key>" data-index="<i>" and a
// <title> tooltip, each series line class="line". Text that ECharts draws (axis names and labels, legend and series names) is
// escaped by its SVG renderer; keys and tooltips are escaped here. This is the one place where
// chart markup is marked safe (raw).
import * as echarts from 'echarts';
import { esc, html, raw, type SafeHtml } from '../../shared/html.js';

export type ChartOption = echarts.EChartsCoreOption;

/** ECharts 6's default palette, which the dashboard's charts use in series order */
export const PALETTE = ['#5070dd', '#b6d634', '#505372', '#ff994d', '#0ca8df', '#ffd10a', '#fb628b', '#785db0'];
/** the dashboard's metric colours (its parallel-coordinates visual map), worst to best */
export const WORSE_TO_BETTER = ['#d73027', '#fee08b', '#1a9850'];
export const GREY = '#9aa1ab';
export const RED = '#c53030';
export const INK = '#1d2330';

/** the base of every chart, as the dashboard's (BASE in dashboard.js); the plot area has fixed
 *  margins (no automatic room for labels), so a value's position follows from the axis range */
export function baseOption(grid: { left?: number; right?: number; top?: number; bottom?: number } = {}): ChartOption {
  return {
    animation: false,
    grid: { left: 64, right: 40, top: 52, bottom: 40, outerBoundsMode: 'none', ...grid },
    legend: { top: 0, textStyle: { fontSize: 11 } },
  };
}

/** an x axis of epochs (or trials): whole numbers only, named in the middle below it */
export function intAxis(name: string, min: number, max: number): ChartOption {
  return { type: 'value', name, nameLocation: 'middle', nameGap: 26, min, max, minInterval: 1 };
}

/** a y axis, named above it; `format` writes its tick labels */
export function valueAxis(name: string, min: number, max: number, format: (v: number) => string): ChartOption {
  return { type: 'value', name, nameTextStyle: { align: 'left' }, min, max, axisLabel: { formatter: format } };
}

export interface SeriesHooks {
  /** names the series' data items in the SVG (data-series) */
  key: string;
  /** the tooltip of its i-th data item */
  tip?: (i: number) => string;
}

export interface Chart {
  /** unique within the page: prefixes the SVG's ids (clip paths, gradients) */
  id: string;
  width: number;
  height: number;
  /** what the chart shows, for screen readers and as the SVG's title */
  label: string;
  option: ChartOption;
  /** one per series of `option.series`, in order */
  series: SeriesHooks[];
}

/** the raw SVG of an option, as ECharts' server-side renderer draws it */
export function echartsSvg(option: ChartOption, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption(option);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const DATA_ITEM = / ecmeta_series_index="(\d+)" ecmeta_data_index="(\d+)" ecmeta_ssr_type="(\w+)"([^>]*)>(<\/\w+>)?/g;

/** a chart as inline SVG markup: deterministic, script-free, with data hooks and tooltips */
export function renderChart(c: Chart): SafeHtml {
  if (!/^[a-z][a-z0-9-]*$/.test(c.id)) throw new Error(`chart id ${JSON.stringify(c.id)}: use [a-z0-9-]`);
  const svg = echartsSvg(c.option, c.width, c.height)
    .replace(/<style\b[\s\S]*?<\/style>/g, '') // :hover rules (a pointer cursor on nothing clickable)
    .replace(/ class="zr\d+-cls-\d+"/g, '')
    // ids carry the renderer's instance counter, which would differ from render to render
    .replace(/(id="|url\(#)zr\d+-/g, `$1${c.id}-`)
    .replace(/>\s*\n\s*</g, '><')
    .replace(/ pointer-events="visible"/g, '')
    .replace(DATA_ITEM, (_all, s: string, i: string, type: string, rest: string, close: string | undefined) => {
      if (type !== 'chart') return `${rest}>${close ?? ''}`;
      const hooks = c.series[Number(s)];
      if (!hooks) throw new Error(`chart ${c.id}: no hooks for series ${s}`);
      const tip = hooks.tip?.(Number(i));
      const attrs = ` data-series="${esc(hooks.key)}" data-index="${i}"${rest}>`;
      return close && tip !== undefined ? `${attrs}<title>${esc(tip)}</title>${close}` : `${attrs}${close ?? ''}`;
    })
    // a series' line is the path ECharts clips to the plot area: class="line" (data items have their hooks)
    .replace(/<g clip-path="url\(#[^)]*\)">(.*?)<\/g>/g, (group: string) =>
      group.replace(/<path (?![^>]*data-series)/g, '<path class="line" '),
    )
    .replace(/^<svg /, `<svg role="img" aria-label="${esc(c.label)}" `)
    .replace(/^(<svg [^>]*>)/, `$1<title>${esc(c.label)}</title>`);
  // ECharts escapes the text it draws but not attribute values; none of ours holds user text, and
  // this keeps it so
  if (/<script|<foreignObject|<[^>]*(\son\w+\s*=|javascript:)/i.test(svg))
    throw new Error(`chart ${c.id}: unexpected markup`);
  return html`<div class="chart-svg" data-chart="${c.id}">${raw(svg)}</div>`;
}

/** a series of error bars (whiskers with caps), one per data item [x, lo, hi] (x a number or a
 *  category index): a custom series drawn as one path per item, so each interval carries its
 *  data-series hook and tooltip in the SVG */
export function errorBarSeries(
  name: string,
  data: Array<[number | string, number, number]>,
  color: string = INK,
  cap = 4,
): Record<string, unknown> {
  return {
    name,
    type: 'custom',
    color,
    encode: { x: 0, y: [1, 2] },
    data,
    renderItem: (_params: unknown, api: { value: (d: number) => number; coord: (p: number[]) => number[] }) => {
      const x = api.value(0);
      const [ax, ay] = api.coord([x, api.value(1)]) as [number, number];
      const [, by] = api.coord([x, api.value(2)]) as [number, number];
      return {
        type: 'path',
        shape: {
          pathData: `M${ax} ${ay}L${ax} ${by}M${ax - cap} ${ay}L${ax + cap} ${ay}M${ax - cap} ${by}L${ax + cap} ${by}`,
        },
        style: { stroke: color, lineWidth: 1.2, fill: 'none' },
      };
    },
  };
}
