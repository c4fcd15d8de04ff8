// The sweep report's charts, as ECharts options for charts.ts: the best metric so far by trial
// index, every trial's validation-accuracy curve, and the parallel coordinates of parameters and
// metric (coloured like the dashboard's: red for worse, green for better).
import type { TrialRecord, SweepConfig } from '../../shared/sweep/types.js';
import type { SafeHtml } from '../../shared/html.js';
import {
  GREY,
  INK,
  PALETTE,
  RED,
  WORSE_TO_BETTER,
  baseOption,
  errorBarSeries,
  intAxis,
  renderChart,
  valueAxis,
  type SeriesHooks,
} from './charts.js';
import { fmtNum, pct } from './experiments.js';

/** how parameters and their values are named in the report */
export interface Labels {
  param: (path: string) => string;
  value: (path: string, v: unknown) => string;
}

const fin = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
/** the colour for "best" (the dashboard palette's orange) */
const BEST = PALETTE[3]!;

/** the best metric after each finished trial (a step line) over the trials themselves (dots) */
export function bestSoFarChart(metric: SweepConfig['metric'], done: TrialRecord[], maxIdx: number): SafeHtml {
  const { name, goal } = metric;
  const acc = name === 'valAccuracy',
    fmt = acc ? pct : fmtNum;
  const better = (a: number, b: number): boolean => (goal === 'maximize' ? a > b : a < b);
  let best = done[0]!.value!;
  const steps = done.map((t) => {
    if (better(t.value!, best)) best = t.value!;
    return [t.index, best];
  });
  // each configuration's 95% interval over its seeds (none for one seed)
  const spreadOf = (t: TrialRecord) => (name === 'valAccuracy' ? (t.valAccuracySpread ?? t.spread) : t.spread);
  const withBars = done.filter((t) => {
    const s = spreadOf(t);
    return s && s.n >= 2 && fin(s.lo) && fin(s.hi);
  });
  const bars = withBars.map((t): [number, number, number] => [t.index, spreadOf(t)!.lo, spreadOf(t)!.hi]);
  return renderChart({
    id: 'best-so-far',
    width: 1000,
    height: 320,
    label: `best ${name} so far by trial index`,
    option: {
      ...baseOption(),
      xAxis: intAxis('trial index', 0, maxIdx),
      yAxis: { type: 'value', name, nameTextStyle: { align: 'left' }, scale: true, axisLabel: { formatter: fmt } },
      series: [
        {
          name: 'trial',
          type: 'scatter',
          color: PALETTE[0],
          symbolSize: 7,
          itemStyle: { opacity: 0.55 },
          data: done.map((t) => [t.index, t.value]),
        },
        {
          name: `best ${name} so far`,
          type: 'line',
          step: 'end',
          color: BEST,
          showSymbol: false,
          lineStyle: { width: 2.5 },
          data: steps,
        },
        ...(bars.length ? [{ ...errorBarSeries('95% interval over seeds', bars, PALETTE[0], 3), z: 1 }] : []),
      ],
    },
    series: [
      { key: 'trial', tip: (i) => `trial ${done[i]!.index}: ${fmt(done[i]!.value!)}` },
      { key: 'best-so-far', tip: (i) => `best after trial ${steps[i]![0]}: ${fmt(steps[i]![1]!)}` },
      ...(bars.length
        ? [
            {
              key: 'interval',
              tip: (i: number) => {
                const t = withBars[i]!,
                  s = spreadOf(t)!;
                return `trial ${t.index}: ${fmt(s.mean)}, 95% interval ${fmt(s.lo)} to ${fmt(s.hi)} over ${s.n} seeds`;
              },
            },
          ]
        : []),
    ],
  });
}

const CURVE_STYLE: Record<string, { name: string; color: string; width: number; opacity: number; dashed?: boolean }> = {
  best: { name: 'best trial', color: BEST, width: 3, opacity: 1 },
  finished: { name: 'finished', color: PALETTE[0]!, width: 1, opacity: 0.4 },
  stopped: { name: 'stopped early', color: GREY, width: 1.2, opacity: 0.8, dashed: true },
  failed: { name: 'failed', color: RED, width: 1.2, opacity: 0.7 },
  running: { name: 'running', color: PALETTE[4]!, width: 1.2, opacity: 0.8 },
};

/** validation accuracy per epoch, a line per trial ending in a dot with its tooltip; the best on top */
export function curvesChart(withCurve: TrialRecord[], bestIdx: number | undefined): SafeHtml {
  const kind = (t: TrialRecord): string =>
    t.index === bestIdx ? 'best' : t.status in CURVE_STYLE ? t.status : 'running';
  const rank = (t: TrialRecord): number => (t.index === bestIdx ? 2 : t.status === 'finished' ? 0 : 1);
  const order = [...withCurve].sort((a, b) => rank(a) - rank(b) || a.index - b.index);
  const curves = order.map((t) => t.curve.filter((c) => fin(c.valAccuracy)));
  const all = curves.flat();
  const maxEp = Math.max(1, ...all.map((c) => c.epoch));
  const minEp = Math.min(maxEp - 1, ...all.map((c) => c.epoch));
  // whole 10% steps, so that the axis ends are ticks
  const lo = Math.max(0, Math.floor(Math.min(...all.map((c) => c.valAccuracy)) * 10) / 10);
  const hi = Math.min(1, Math.ceil(Math.max(...all.map((c) => c.valAccuracy)) * 10) / 10 || 1);
  const present = new Set(order.map(kind));
  const hooks: SeriesHooks[] = order.map((t, k) => ({
    key: `trial-${t.index}`,
    tip: (i) => `trial ${t.index} (${t.status}): ${pct(curves[k]![i]!.valAccuracy)} at epoch ${curves[k]![i]!.epoch}`,
  }));
  return renderChart({
    id: 'curves',
    width: 1000,
    height: 360,
    label: 'validation accuracy per epoch for every trial',
    option: {
      ...baseOption(),
      legend: {
        top: 0,
        data: Object.keys(CURVE_STYLE)
          .filter((k) => present.has(k))
          .map((k) => CURVE_STYLE[k]!.name),
      },
      xAxis: intAxis('epoch', minEp, maxEp),
      yAxis: valueAxis('validation accuracy', lo, hi > lo ? hi : lo + 0.1, pct),
      series: order.map((t, k) => {
        const s = CURVE_STYLE[kind(t)]!;
        const pts = curves[k]!;
        return {
          name: s.name,
          type: 'line',
          color: s.color,
          symbolSize: kind(t) === 'best' ? 7 : 4,
          lineStyle: { width: s.width, opacity: s.opacity, type: s.dashed ? 'dashed' : 'solid' },
          itemStyle: { opacity: s.opacity },
          // a dot at the curve's end only: it carries the trial's tooltip
          data: pts.map((c, i) =>
            i === pts.length - 1 ? [c.epoch, c.valAccuracy] : { value: [c.epoch, c.valAccuracy], symbol: 'none' },
          ),
        };
      }),
    },
    series: hooks,
  });
}

/** a parallel axis per parameter (its values in the config's order, or a numeric range, log for
 *  log_uniform) and one for the metric; a line per trial with a metric value: finished ones
 *  coloured by it, stopped and failed ones grey and dashed (clamped to the metric axis), the best
 *  thick and outlined */
export function parallelChart(
  config: SweepConfig,
  rows: TrialRecord[],
  bestIdx: number | undefined,
  L: Labels,
): SafeHtml {
  const { name, goal } = config.metric;
  const params = Object.entries(config.parameters);
  const axes: Array<Record<string, unknown>> = params.map(([path, spec], dim) => {
    const axisName = L.param(path);
    if (spec.distribution === 'values')
      return { dim, name: axisName, type: 'category', data: spec.values.map((v) => L.value(path, v)) };
    const seen = rows.map((t) => t.params[path]).filter((v): v is number => fin(v as number));
    let lo = Math.min(spec.min, ...seen),
      hi = Math.max(spec.max, ...seen);
    if (hi <= lo) [lo, hi] = [lo - 1, hi + 1];
    const log = spec.distribution === 'log_uniform' && lo > 0;
    return { dim, name: axisName, type: log ? 'log' : 'value', min: lo, max: hi, axisLabel: { formatter: fmtNum } };
  });
  // the metric axis and the colours span the finished trials; the others are clamped to its ends
  const fins = rows.filter((t) => t.status === 'finished').map((t) => t.value!);
  const vals = fins.length > 0 ? fins : rows.map((t) => t.value!);
  let lo = Math.min(...vals),
    hi = Math.max(...vals);
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.01, hi + 0.01];
  const acc = name === 'valAccuracy',
    fmt = acc ? pct : fmtNum;
  // the ends' labels are in the visual map beside it
  axes.push({
    dim: params.length,
    name,
    type: 'value',
    min: lo,
    max: hi,
    axisLabel: { formatter: fmt, showMinLabel: false, showMaxLabel: false },
  });
  const line = (t: TrialRecord): unknown[] => [
    ...params.map(([path, spec]) => (spec.distribution === 'values' ? L.value(path, t.params[path]) : t.params[path])),
    Math.min(hi, Math.max(lo, t.value!)),
  ];
  const groups = {
    trials: rows.filter((t) => t.status === 'finished' && t.index !== bestIdx),
    unfinished: rows.filter((t) => t.status !== 'finished' && t.index !== bestIdx),
    best: rows.filter((t) => t.index === bestIdx),
  };
  const tip = (list: TrialRecord[]) => (i: number) => {
    const t = list[i]!;
    return `trial ${t.index} (${t.status}): ${params.map(([p]) => `${L.param(p)}=${L.value(p, t.params[p])}`).join(', ')}; ${name} ${fmt(t.value!)}`;
  };
  const series = [
    { name: 'finished', type: 'parallel', lineStyle: { width: 2, opacity: 0.7 }, data: groups.trials.map(line) },
    {
      name: 'stopped or failed',
      type: 'parallel',
      lineStyle: { width: 1.2, opacity: 0.8, color: GREY, type: 'dashed' },
      data: groups.unfinished.map(line),
    },
    {
      name: 'best trial outline',
      type: 'parallel',
      lineStyle: { width: 7, opacity: 1, color: INK },
      data: groups.best.map(line),
    },
    { name: 'best trial', type: 'parallel', lineStyle: { width: 3.5, opacity: 1 }, data: groups.best.map(line) },
  ];
  return renderChart({
    id: 'parallel',
    width: 1000,
    height: 400,
    label: 'parallel coordinates of parameters and metric',
    option: {
      animation: false,
      parallel: {
        left: 80,
        right: 160,
        top: 50,
        bottom: 30,
        parallelAxisDefault: { nameLocation: 'end', nameGap: 16, nameTextStyle: { fontSize: 12, fontWeight: 'bold' } },
      },
      parallelAxis: axes,
      visualMap: {
        type: 'continuous',
        dimension: params.length,
        seriesIndex: [0, 3],
        min: lo,
        max: hi,
        inRange: { color: goal === 'minimize' ? [...WORSE_TO_BETTER].reverse() : WORSE_TO_BETTER },
        right: 16,
        top: 'middle',
        itemHeight: 160,
        calculable: false,
        text: [fmt(hi), fmt(lo)],
        textStyle: { fontSize: 11 },
      },
      series,
    },
    series: [
      { key: 'trial', tip: tip(groups.trials) },
      { key: 'unfinished', tip: tip(groups.unfinished) },
      { key: 'best-outline' },
      { key: 'best', tip: tip(groups.best) },
    ],
  });
}

/** a factor's level for levelChart */
export interface LevelPoint {
  factor: string;
  level: string;
  mean: number;
  lo: number;
  hi: number;
  /** its factor's effect is larger than the seed-to-seed noise */
  effect: boolean;
}

/** every factor's level means with their 95% intervals (whiskers), grouped by factor along the x
 *  axis; a factor whose effect is within noise is grey */
export function levelChart(points: LevelPoint[]): SafeHtml {
  const cats = points.map((p) => `${p.factor}: ${p.level}`);
  const lo = Math.max(0, Math.floor(Math.min(...points.map((p) => p.lo)) * 100) / 100);
  const hi = Math.min(1, Math.ceil(Math.max(...points.map((p) => p.hi)) * 100) / 100);
  const color = (p: LevelPoint): string => (p.effect ? PALETTE[0]! : GREY);
  return renderChart({
    id: 'level-means',
    width: 1000,
    height: 380,
    label: 'mean validation accuracy of each level of each factor, with 95% intervals',
    option: {
      ...baseOption({ bottom: 110 }),
      legend: { show: false },
      xAxis: { type: 'category', data: cats, axisLabel: { rotate: 40, fontSize: 11, interval: 0 } },
      yAxis: valueAxis('validation accuracy', lo, hi > lo ? hi : lo + 0.01, pct),
      series: [
        {
          name: 'level mean',
          type: 'scatter',
          symbolSize: 8,
          data: points.map((p, i) => ({ value: [i, p.mean], itemStyle: { color: color(p) } })),
        },
        errorBarSeries(
          '95% interval',
          points.map((p, i): [number, number, number] => [i, p.lo, p.hi]),
          INK,
          5,
        ),
      ],
    },
    series: [
      { key: 'level-mean', tip: (i) => `${cats[i]}: ${pct(points[i]!.mean)}` },
      {
        key: 'level-interval',
        tip: (i) => `${cats[i]}: 95% interval ${pct(points[i]!.lo)} to ${pct(points[i]!.hi)}`,
      },
    ],
  });
}
