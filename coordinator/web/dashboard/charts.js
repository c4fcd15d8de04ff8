// The dashboard's charts, drawn by ECharts (assets/echarts.min.js, loaded before this module):
// the training loss per step, loss and accuracy per epoch, throughput, and a sweep's parallel
// coordinates. Each chart records what it shows in data-* attributes (points, lines) for tests.
import { $, fmt, int, isNum, paramText } from './format.js';
import { EMA_ALPHA, MAX_BUCKETS, now, S } from './state.js';

const charts = {};
export const hasCharts = typeof window.echarts !== 'undefined';
const BASE = {
  animation: false,
  grid: { left: 56, right: 56, top: 52, bottom: 36 },
  tooltip: { trigger: 'axis' },
  legend: { top: 0, textStyle: { fontSize: 11 } },
};

function chart(id, option) {
  if (!hasCharts) return null;
  if (!charts[id]) {
    charts[id] = window.echarts.init($(id), null, { renderer: 'canvas' });
    charts[id].setOption({ ...BASE, ...option });
  }
  return charts[id];
}

export function renderLoss(r) {
  const steps = r ? r.steps : [];
  const raw = new Array(steps.length);
  const smooth = new Array(steps.length);
  let ema = null;
  for (let i = 0; i < steps.length; i++) {
    const p = steps[i];
    const ok = isNum(p.loss);
    raw[i] = [p.step, ok ? p.loss : '-'];
    if (ok) ema = ema === null ? p.loss : ema + EMA_ALPHA * (p.loss - ema);
    smooth[i] = [p.step, ema === null ? '-' : ema];
  }
  const c = chart('chart-loss', {
    tooltip: { trigger: 'axis', valueFormatter: (v) => fmt(v) },
    xAxis: {
      type: 'value',
      name: 'step',
      nameLocation: 'middle',
      nameGap: 24,
      min: 'dataMin',
      max: 'dataMax',
    },
    yAxis: { type: 'value', name: 'loss', scale: true },
    series: [
      {
        id: 'loss',
        name: 'loss',
        type: 'line',
        showSymbol: false,
        sampling: 'lttb',
        lineStyle: { width: 1, opacity: 0.45 },
        data: [],
      },
      {
        id: 'ema',
        name: 'smoothed',
        type: 'line',
        showSymbol: false,
        sampling: 'lttb',
        lineStyle: { width: 2 },
        data: [],
      },
    ],
  });
  if (c)
    c.setOption({
      series: [
        { id: 'loss', data: raw },
        { id: 'ema', data: smooth },
      ],
    });
  const box = $('chart-loss');
  box.dataset.points = String(steps.length);
  box.dataset.lastStep = String(steps.length ? steps[steps.length - 1].step : -1);
  box.dataset.run = r ? r.info.id : '';
}

export function renderEpochs(r) {
  const rows = r ? r.epochs : [];
  const col = (f) => rows.map((e) => [e.epoch, isNum(f(e)) ? f(e) : '-']);
  const c = chart('chart-epochs', {
    tooltip: { trigger: 'axis', valueFormatter: (v) => fmt(v) },
    xAxis: {
      type: 'value',
      name: 'epoch',
      nameLocation: 'middle',
      nameGap: 24,
      minInterval: 1,
      min: 'dataMin',
      max: 'dataMax',
    },
    yAxis: [
      { type: 'value', name: 'loss', scale: true },
      {
        type: 'value',
        name: 'accuracy',
        min: 0,
        max: 1,
        splitLine: { show: false },
        axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` },
      },
    ],
    series: [
      { id: 'tl', name: 'train loss', type: 'line', data: [] },
      { id: 'vl', name: 'val loss', type: 'line', data: [] },
      { id: 'ta', name: 'train acc', type: 'line', yAxisIndex: 1, lineStyle: { type: 'dashed' }, data: [] },
      { id: 'va', name: 'val acc', type: 'line', yAxisIndex: 1, lineStyle: { type: 'dashed' }, data: [] },
    ],
  });
  if (c) {
    const showSymbol = rows.length <= 40;
    c.setOption({
      series: [
        { id: 'tl', data: col((e) => e.trainLoss), showSymbol },
        { id: 'vl', data: col((e) => e.valLoss), showSymbol },
        { id: 'ta', data: col((e) => e.trainAccuracy), showSymbol },
        { id: 'va', data: col((e) => e.valAccuracy), showSymbol },
      ],
    });
  }
  $('chart-epochs').dataset.points = String(rows.length);
}

export function renderThroughput() {
  const nowSec = Math.floor(now() / 1000);
  const secs = [...S.buckets.keys()].filter((s) => s < nowSec).sort((a, b) => a - b);
  const data = [];
  if (secs.length) {
    // seconds without a step (evaluation, waiting for workers) count as 0
    const from = Math.max(secs[0], secs[secs.length - 1] - MAX_BUCKETS);
    for (let s = from; s <= secs[secs.length - 1]; s++) data.push([s * 1000, S.buckets.get(s) || 0]);
  }
  const c = chart('chart-throughput', {
    tooltip: { trigger: 'axis', valueFormatter: (v) => `${int(v)} samples/s` },
    legend: { show: false },
    grid: { left: 64, right: 24, top: 40, bottom: 36 },
    xAxis: { type: 'time', splitNumber: 4, axisLabel: { hideOverlap: true, formatter: '{HH}:{mm}:{ss}' } },
    yAxis: { type: 'value', name: 'samples/s', min: 0 },
    series: [
      {
        id: 'sps',
        name: 'samples/s',
        type: 'line',
        showSymbol: false,
        areaStyle: { opacity: 0.15 },
        step: 'end',
        data: [],
      },
    ],
  });
  if (c) c.setOption({ series: [{ id: 'sps', data }] });
  $('chart-throughput').dataset.points = String(data.length);
}

export function renderParallel() {
  const sw = S.sweep;
  const params = sw.parameters;
  const done = [...S.trials.values()].filter((t) => isNum(t.value));
  const axes = params.map((p, dim) => {
    const vals = done.map((t) => (t.params ? t.params[p] : undefined)).filter((v) => v !== undefined && v !== null);
    const numeric = vals.length > 0 && vals.every(isNum);
    if (numeric) {
      const min = Math.min(...vals),
        max = Math.max(...vals);
      const log = min > 0 && max / min >= 50;
      return { dim, name: p, type: log ? 'log' : 'value', scale: true, numeric: true };
    }
    const cats = [...new Set(vals.map(paramText))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    return { dim, name: p, type: 'category', data: cats, numeric: false };
  });
  const metricDim = params.length;
  axes.push({ dim: metricDim, name: sw.metric.name, type: 'value', scale: true, numeric: true });
  const data = done.map((t) => [
    ...params.map((p, i) => {
      const v = t.params ? t.params[p] : undefined;
      return axes[i].numeric ? v : paramText(v);
    }),
    t.value,
  ]);
  const values = done.map((t) => t.value);
  const c = chart('chart-parallel', {});
  if (c) {
    c.setOption(
      {
        animation: false,
        tooltip: { trigger: 'item' },
        parallel: {
          left: 60,
          right: 130,
          top: 40,
          bottom: 30,
          parallelAxisDefault: { nameLocation: 'end', nameGap: 14, nameTextStyle: { fontSize: 11 } },
        },
        parallelAxis: axes.map(({ numeric, ...a }) => a),
        visualMap: values.length
          ? [
              {
                type: 'continuous',
                dimension: metricDim,
                min: Math.min(...values),
                max: Math.max(...values) + (Math.min(...values) === Math.max(...values) ? 1e-9 : 0),
                inRange: {
                  color:
                    sw.metric.goal === 'minimize'
                      ? ['#1a9850', '#fee08b', '#d73027']
                      : ['#d73027', '#fee08b', '#1a9850'],
                },
                right: 8,
                top: 'middle',
                itemHeight: 120,
                calculable: true,
                precision: 3,
                text: [sw.metric.name, ''],
                textStyle: { fontSize: 10 },
              },
            ]
          : [],
        series: [{ id: 'trials', type: 'parallel', lineStyle: { width: 2, opacity: 0.7 }, data }],
      },
      { replaceMerge: ['parallelAxis', 'visualMap', 'series'] },
    );
  }
  $('chart-parallel').dataset.lines = String(data.length);
  $('metric-name').textContent = sw.metric.name;
}

export function resizeCharts() {
  for (const c of Object.values(charts)) c.resize();
}

/** said in each chart's place when ECharts did not load */
export function chartsUnavailable() {
  for (const id of ['chart-loss', 'chart-epochs', 'chart-throughput', 'chart-parallel'])
    $(id).textContent = 'charts unavailable: assets/echarts.min.js did not load';
}
