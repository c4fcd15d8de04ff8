// The run report's charts, as ECharts options for charts.ts: the learning curves per epoch (loss,
// accuracy, and the learning rate when a schedule changes it) and the training throughput per
// epoch (bars, with their mean as a dashed line). Colours as on the dashboard's per-epoch chart.
import type { StoredEpochRow } from '../store/store.js';
import { PALETTE, baseOption, intAxis, renderChart, valueAxis, type SeriesHooks } from './charts.js';
import { finite, fmtNum, pct, pct2 } from './experiments.js';
import { html, type SafeHtml } from '../../shared/html.js';

export interface EpochSeries {
  /** the StoredEpochRow field: the series' key in the SVG (data-series) */
  key: keyof StoredEpochRow;
  label: string;
  color: string;
  dashed?: boolean;
}

/** the dashboard's per-epoch series: train loss, val loss, train acc (dashed), val acc (dashed) */
export const EPOCH_SERIES: Record<'trainLoss' | 'valLoss' | 'trainAccuracy' | 'valAccuracy' | 'lr', EpochSeries> = {
  trainLoss: { key: 'trainLoss', label: 'train loss', color: PALETTE[0]! },
  valLoss: { key: 'valLoss', label: 'validation loss', color: PALETTE[1]! },
  trainAccuracy: { key: 'trainAccuracy', label: 'train accuracy', color: PALETTE[2]!, dashed: true },
  valAccuracy: { key: 'valAccuracy', label: 'validation accuracy', color: PALETTE[3]!, dashed: true },
  lr: { key: 'lr', label: 'learning rate', color: PALETTE[4]! },
};

/** the y range: percentages to whole 5% steps inside [0, 1]; other values padded by 6% (from 0 with `zero`) */
function yRange(ys: number[], percent: boolean, zero: boolean): [number, number] {
  let lo: number, hi: number;
  if (percent) {
    lo = Math.max(0, Math.floor(Math.min(...ys) * 20) / 20);
    hi = Math.min(1, Math.ceil(Math.max(...ys) * 20) / 20);
    if (hi <= lo) {
      if (hi >= 1) lo = hi - 0.05;
      else hi = lo + 0.05;
    }
    return [lo, hi];
  }
  lo = zero ? Math.min(0, ...ys) : Math.min(...ys);
  hi = Math.max(...ys);
  const pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.1 || 1;
  return [zero ? lo : lo - pad, hi + pad];
}

/** one chart of per-epoch series, a symbol (with a tooltip) per finite value */
export function epochChart(o: {
  id: string;
  title: string;
  yName: string;
  epochs: StoredEpochRow[];
  series: EpochSeries[];
  percent?: boolean;
  zero?: boolean;
}): SafeHtml {
  const rows = o.series.map((s) => o.epochs.filter((e) => finite(e[s.key])).map((e) => [e.epoch, e[s.key] as number]));
  const pts = rows.flat();
  if (pts.length === 0)
    return html`<div class="chart"><h3>${o.title}</h3><p class="empty">No finite value recorded.</p></div>`;
  const xs = pts.map(([x]) => x!);
  let x0 = Math.min(...xs),
    x1 = Math.max(...xs);
  if (x1 <= x0) [x0, x1] = [x0 - 1, x1 + 1];
  const [lo, hi] = yRange(
    pts.map(([, y]) => y!),
    !!o.percent,
    !!o.zero,
  );
  const fmt = o.percent ? pct : fmtNum;
  const hooks: SeriesHooks[] = o.series.map((s, k) => ({
    key: String(s.key),
    tip: (i) => `${s.label}, epoch ${rows[k]![i]![0]}: ${o.percent ? pct2(rows[k]![i]![1]) : fmtNum(rows[k]![i]![1]!)}`,
  }));
  const chart = renderChart({
    id: o.id,
    width: 520,
    height: 300,
    label: `${o.title} per epoch`,
    option: {
      ...baseOption(),
      xAxis: intAxis('epoch', x0, x1),
      yAxis: valueAxis(o.yName, lo, hi, fmt),
      series: o.series.map((s, k) => ({
        name: s.label,
        type: 'line',
        color: s.color,
        symbolSize: rows[k]!.length > 40 ? 3 : 6,
        lineStyle: { width: 2, type: s.dashed ? 'dashed' : 'solid' },
        data: rows[k],
      })),
    },
    series: hooks,
  });
  return html`<div class="chart"><h3>${o.title}</h3>${chart}</div>`;
}

/** training samples per second of each epoch, a bar each, and their mean */
export function throughputChart(epochs: StoredEpochRow[], mean: number): SafeHtml {
  return renderChart({
    id: 'throughput',
    width: 1000,
    height: 280,
    label: 'training samples per second per epoch',
    option: {
      ...baseOption({ right: 24 }),
      xAxis: {
        type: 'category',
        name: 'epoch',
        nameLocation: 'middle',
        nameGap: 26,
        data: epochs.map((e) => String(e.epoch)),
      },
      yAxis: { type: 'value', name: 'samples/s', nameTextStyle: { align: 'left' }, min: 0 },
      series: [
        {
          name: 'samples/s of the epoch',
          type: 'bar',
          color: PALETTE[0],
          barMaxWidth: 40,
          data: epochs.map((e) => e.samplesPerSecond),
        },
        {
          name: `mean ${Math.round(mean)} samples/s`,
          type: 'line',
          color: PALETTE[3],
          showSymbol: false,
          lineStyle: { type: 'dashed', width: 2 },
          data: epochs.map(() => mean),
        },
      ],
    },
    series: [
      { key: 'samplesPerSecond', tip: (i) => `epoch ${epochs[i]!.epoch}: ${epochs[i]!.samplesPerSecond} samples/s` },
      { key: 'mean', tip: () => `mean ${Math.round(mean)} samples/s` },
    ],
  });
}
