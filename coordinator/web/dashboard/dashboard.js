// gradwire's live dashboard: plain browser JavaScript (no build step), ECharts served by the
// coordinator itself. It reads the coordinator's server-sent events (api/events): a `snapshot`
// first, then `run`, `steps` (batched points), `epoch`, `sweep`, `trial`, `worker-gone`,
// `failure`, `reassignment`, a `workers` list every second, and `bye` when the coordinator
// shuts down. Read-only: it never sends anything back.
//
// Stable hooks for tests and scripts: #status[data-status], #progress[data-step][data-total],
// #workers tbody tr[data-worker][data-state][data-kernel], #chart-loss[data-points][data-last-step],
// #chart-epochs[data-points], #chart-throughput[data-points], #trials (th[data-key],
// tbody tr[data-index]), #chart-parallel[data-lines], #conn[data-state].

(() => {
  const $ = (id) => document.getElementById(id);
  /** points kept per run in the page */
  const MAX_STEPS = 100000;
  /** the charts redraw at most this often */
  const RENDER_MS = 300;
  /** throughput history kept, seconds */
  const MAX_BUCKETS = 3600;
  const EMA_ALPHA = 0.05;

  const S = {
    /** server clock − browser clock, ms */
    offset: 0,
    /** run id → { info, steps, epochs } in the order the runs started */
    runs: new Map(),
    sweep: null,
    /** trial index → TrialInfo */
    trials: new Map(),
    workers: [],
    /** the run the user picked, or null: follow the latest */
    picked: null,
    sort: { key: 'index', dir: 1 },
    /** second (server clock) → samples trained in it, over all runs */
    buckets: new Map(),
    failures: 0,
    reassigned: 0,
    ended: false,
  };
  const dirty = { charts: true, trials: true };

  // ------------------------------------------------------------------ formatting

  const now = () => Date.now() + S.offset;
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  function fmt(v, digits = 4) {
    if (!isNum(v)) return '—';
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
    if (Number.isInteger(v)) return String(v);
    return a >= 100 ? v.toFixed(0) : v.toPrecision(digits);
  }
  const pct = (v) => (isNum(v) ? `${(v * 100).toFixed(2)}%` : '—');
  const int = (v) => (isNum(v) ? Math.round(v).toLocaleString('en-US') : '—');
  function duration(s) {
    if (!isNum(s) || s < 0) return '—';
    if (s < 60) return `${Math.round(s)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
    return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  }
  function ago(t) {
    if (!isNum(t) || t <= 0) return '—';
    const s = Math.max(0, (now() - t) / 1000);
    return s < 10 ? `${s.toFixed(1)} s ago` : `${duration(s)} ago`;
  }
  function paramText(v) {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'number') return fmt(v);
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('data-')) e.dataset[k.slice(5).replace(/-(\w)/g, (_, c) => c.toUpperCase())] = String(v);
      else e.setAttribute(k, String(v));
    }
    if (text !== undefined) e.textContent = text; // never innerHTML: names come from workers
    return e;
  }

  // ------------------------------------------------------------------ state updates

  function addSteps(r, points) {
    for (const p of points) {
      const last = r.steps[r.steps.length - 1];
      if (last && p.step <= last.step) continue; // already had it (a snapshot overlapping a batch)
      r.steps.push(p);
      const sec = Math.floor(p.t / 1000);
      S.buckets.set(sec, (S.buckets.get(sec) || 0) + (p.rows || 0));
    }
    if (r.steps.length > MAX_STEPS) r.steps.splice(0, r.steps.length - MAX_STEPS);
    if (S.buckets.size > MAX_BUCKETS) {
      const keys = [...S.buckets.keys()].sort((a, b) => a - b);
      for (const k of keys.slice(0, keys.length - MAX_BUCKETS)) S.buckets.delete(k);
    }
  }

  function onSnapshot(s) {
    S.offset = s.now - Date.now();
    S.runs = new Map();
    S.buckets = new Map();
    for (const r of s.runs) {
      const rec = { info: r.info, steps: [], epochs: r.epochs.slice() };
      addSteps(rec, r.steps);
      S.runs.set(r.info.id, rec);
    }
    S.sweep = s.sweep;
    S.trials = new Map(s.trials.map((t) => [t.index, t]));
    S.workers = s.workers;
    dirty.charts = dirty.trials = true;
  }

  function onRun(run) {
    const r = S.runs.get(run.id);
    if (!r || r.info.startedAt !== run.startedAt) {
      S.runs.delete(run.id);
      S.runs.set(run.id, { info: run, steps: [], epochs: [] });
    } else {
      r.info = run;
    }
    dirty.charts = true;
  }

  const handlers = {
    snapshot: onSnapshot,
    run: (e) => onRun(e.run),
    steps: (e) => {
      for (const [id, points] of Object.entries(e.runs)) {
        const r = S.runs.get(id);
        if (!r) continue;
        addSteps(r, points);
        const last = points[points.length - 1];
        if (last) {
          r.info.step = Math.max(r.info.step, last.step + 1);
          r.info.epoch = last.epoch;
        }
      }
      dirty.charts = true;
    },
    epoch: (e) => {
      const r = S.runs.get(e.runId);
      if (!r) return;
      const last = r.epochs[r.epochs.length - 1];
      if (!last || e.row.epoch > last.epoch) r.epochs.push(e.row);
      dirty.charts = true;
    },
    sweep: (e) => {
      if (!S.sweep || S.sweep.id !== e.sweep.id) S.trials = new Map();
      S.sweep = e.sweep;
      dirty.trials = true;
    },
    trial: (e) => {
      S.trials.set(e.trial.index, e.trial);
      dirty.trials = true;
    },
    'worker-gone': (e) => {
      S.workers = S.workers.filter((w) => w.id !== e.worker.id);
      const live = S.workers.filter((w) => w.state !== 'gone');
      S.workers = [...live, e.worker, ...S.workers.filter((w) => w.state === 'gone')];
    },
    workers: (e) => {
      S.offset = e.now - Date.now();
      S.workers = e.workers;
    },
    failure: () => {
      S.failures++;
    },
    reassignment: (e) => {
      S.reassigned += e.microbatches || 0;
    },
    bye: () => {
      S.ended = true;
      if (source) source.close();
      setConn('ended', 'coordinator stopped');
    },
  };

  // ------------------------------------------------------------------ which run

  function currentRun() {
    if (S.picked && S.runs.has(S.picked)) return S.runs.get(S.picked);
    let best = null;
    for (const r of S.runs.values()) {
      const rank = (x) => [x.info.status === 'running' ? 1 : 0, x.info.startedAt];
      if (!best) {
        best = r;
        continue;
      }
      const [a1, a2] = rank(r);
      const [b1, b2] = rank(best);
      if (a1 > b1 || (a1 === b1 && a2 >= b2)) best = r;
    }
    return best;
  }

  function runLabel(info) {
    return info.kind === 'trial' && info.trial !== null ? `trial ${info.trial}` : info.id;
  }

  function renderRunPicker() {
    const pick = $('run-pick');
    const sel = $('run-select');
    if (S.runs.size < 2 && !S.sweep) {
      pick.hidden = true;
      return;
    }
    pick.hidden = false;
    const cur = currentRun();
    const want = ['', ...[...S.runs.keys()]].join('\n');
    if (sel.dataset.options !== want) {
      sel.textContent = '';
      sel.appendChild(el('option', { value: '' }, 'latest'));
      for (const r of [...S.runs.values()].reverse())
        sel.appendChild(el('option', { value: r.info.id }, `${runLabel(r.info)} (${r.info.status})`));
      sel.dataset.options = want;
    }
    sel.value = S.picked && S.runs.has(S.picked) ? S.picked : '';
    sel.title = cur ? cur.info.id : '';
  }
  $('run-select').addEventListener('change', (ev) => {
    S.picked = ev.target.value || null;
    dirty.charts = true;
    scheduleRender();
  });

  // ------------------------------------------------------------------ header and facts

  function recentThroughput() {
    const nowSec = Math.floor(now() / 1000);
    let rows = 0;
    for (let s = nowSec - 5; s < nowSec; s++) rows += S.buckets.get(s) || 0;
    return rows / 5;
  }

  function eta(r) {
    if (r?.info.status !== 'running') return null;
    const t = now();
    const recent = r.steps.slice(-50).filter((p) => t - p.t < 30000);
    if (recent.length < 3) return null;
    const span = (recent[recent.length - 1].t - recent[0].t) / 1000;
    if (span <= 0) return null;
    const rate = (recent.length - 1) / span;
    return Math.max(0, r.info.totalSteps - r.info.step) / rate;
  }

  function renderHeader() {
    const r = currentRun();
    const sw = S.sweep;
    const kind = sw ? 'sweep' : r ? (r.info.kind === 'trial' ? 'trial' : 'run') : 'coordinator';
    $('kind').textContent = kind;
    $('run-id').textContent = sw ? sw.id : r ? r.info.id : 'waiting for a run';
    const status = sw ? sw.status : r ? r.info.status : 'waiting';
    $('status').dataset.status = status;
    $('status').textContent = status;
    document.title = `${status} · ${sw ? sw.id : r ? r.info.id : 'gradwire'} — gradwire`;

    const info = r ? r.info : null;
    const total = info ? info.totalSteps : 0;
    const step = info ? Math.min(info.step, total) : 0;
    const frac = total > 0 ? step / total : 0;
    const prog = $('progress');
    prog.dataset.step = String(step);
    prog.dataset.total = String(total);
    prog.setAttribute('aria-valuenow', String(Math.round(frac * 100)));
    $('progress-bar').style.width = `${(frac * 100).toFixed(2)}%`;
    $('fact-step').textContent = info ? `${int(step)} / ${int(total)} (${(frac * 100).toFixed(1)}%)` : '—';
    $('fact-epoch').textContent = info
      ? `${Math.min(info.status === 'finished' ? info.epochs : info.epoch + 1, info.epochs)} / ${info.epochs}`
      : '—';
    const e = eta(r);
    $('fact-eta').textContent = info
      ? info.status === 'running'
        ? e === null
          ? 'estimating…'
          : duration(e)
        : info.endedAt
          ? `done in ${duration((info.endedAt - info.startedAt) / 1000)}`
          : '—'
      : '—';
    const lastEpoch = r?.epochs[r.epochs.length - 1];
    const tp = recentThroughput();
    $('fact-throughput').textContent =
      tp > 0 ? `${int(tp)} samples/s` : lastEpoch ? `${int(lastEpoch.samplesPerSecond)} samples/s (last epoch)` : '—';
    let ema = null;
    if (r)
      for (const p of r.steps.slice(-200))
        if (isNum(p.loss)) ema = ema === null ? p.loss : ema + EMA_ALPHA * 4 * (p.loss - ema);
    $('fact-loss').textContent = fmt(ema);
    $('fact-val').textContent = lastEpoch ? pct(lastEpoch.valAccuracy) : '—';
    const live = S.workers.filter((w) => w.state !== 'gone');
    const ready = live.filter((w) => w.state === 'ready').length;
    const gone = S.workers.length - live.length;
    $('fact-workers').textContent =
      `${ready} ready${live.length > ready ? ` / ${live.length}` : ''}${gone ? ` · ${gone} gone` : ''}${S.failures ? ` · ${S.failures} lost mid-step` : ''}`;
    $('fact-model').textContent = info ? `${info.model} · ${info.dataset} · batch ${info.batchSize}` : '—';
    $('fact-run').textContent = info ? (info.kind === 'trial' ? `trial ${info.trial} (${info.status})` : info.id) : '—';
    $('fact-run').title = info ? info.id : '';
  }

  // ------------------------------------------------------------------ workers

  function renderWorkers() {
    const body = $('workers').tBodies[0];
    body.textContent = '';
    for (const w of S.workers) {
      const gone = w.state === 'gone';
      const tr = el('tr', {
        'data-worker': w.name,
        'data-state': w.state,
        'data-id': w.id,
        'data-kernel': w.kernel || '',
        class: gone ? 'gone' : '',
      });
      tr.appendChild(el('td', { class: 'name' }, w.name));
      tr.appendChild(el('td', { class: 'address' }, w.address));
      tr.appendChild(el('td', { class: 'kernel' }, w.kernel || '—'));
      tr.appendChild(el('td', { class: 'num speed' }, w.samplesPerSecond > 0 ? int(w.samplesPerSecond) : '—'));
      const st = el('td', { class: 'state-cell' });
      st.appendChild(el('span', { class: 'state', 'data-state': w.state }, w.state));
      tr.appendChild(st);
      tr.appendChild(
        el(
          'td',
          { class: 'heartbeat' },
          gone ? `gone ${ago(w.goneAt)}${w.reason ? `: ${w.reason}` : ''}` : ago(w.lastHeartbeat),
        ),
      );
      tr.appendChild(el('td', { class: 'job' }, w.job || '—'));
      body.appendChild(tr);
    }
    $('workers-empty').hidden = S.workers.length > 0;
  }

  // ------------------------------------------------------------------ charts

  const charts = {};
  const hasCharts = typeof window.echarts !== 'undefined';
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

  function renderLoss(r) {
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

  function renderEpochs(r) {
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

  function renderThroughput() {
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

  // ------------------------------------------------------------------ sweep

  function trialColumns() {
    const params = S.sweep ? S.sweep.parameters : [];
    const metric = S.sweep ? S.sweep.metric.name : 'value';
    return [
      { key: 'index', label: '#', num: true, get: (t) => t.index },
      ...params.map((p) => ({
        key: `param:${p}`,
        label: p,
        get: (t) => (t.params ? t.params[p] : undefined),
        text: paramText,
      })),
      { key: 'status', label: 'status', get: (t) => t.status },
      { key: 'value', label: metric, num: true, get: (t) => t.value, text: (v) => fmt(v) },
      { key: 'valAccuracy', label: 'val accuracy', num: true, get: (t) => t.valAccuracy, text: pct },
      { key: 'epochs', label: 'epochs', num: true, get: (t) => t.epochs },
    ];
  }

  function compare(a, b) {
    const na = a === null || a === undefined;
    const nb = b === null || b === undefined;
    if (na || nb) return na && nb ? 0 : na ? 1 : -1; // missing values last, either way
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return String(paramText(a)).localeCompare(String(paramText(b)), 'en', { numeric: true });
  }

  function bestTrial() {
    if (!S.sweep) return null;
    const sign = S.sweep.metric.goal === 'minimize' ? 1 : -1;
    let best = null;
    for (const t of S.trials.values()) if (isNum(t.value) && (!best || sign * (t.value - best.value) < 0)) best = t;
    return best;
  }

  function renderTrials() {
    const cols = trialColumns();
    const table = $('trials');
    const head = table.tHead.rows[0];
    const want = cols.map((c) => c.key).join('\n');
    if (head.dataset.cols !== want) {
      head.textContent = '';
      for (const c of cols) {
        const th = el(
          'th',
          { 'data-key': c.key, class: c.num ? 'num' : '', scope: 'col', title: `sort by ${c.label}` },
          c.label,
        );
        th.addEventListener('click', () => {
          S.sort = S.sort.key === c.key ? { key: c.key, dir: -S.sort.dir } : { key: c.key, dir: 1 };
          dirty.trials = true;
          render();
        });
        head.appendChild(th);
      }
      head.dataset.cols = want;
    }
    for (const th of head.cells) {
      if (th.dataset.key === S.sort.key) th.setAttribute('aria-sort', S.sort.dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
    table.dataset.sortKey = S.sort.key;
    table.dataset.sortDir = S.sort.dir > 0 ? 'asc' : 'desc';
    const col = cols.find((c) => c.key === S.sort.key) || cols[0];
    const rows = [...S.trials.values()].sort((a, b) => {
      const va = col.get(a),
        vb = col.get(b);
      const na = va === null || va === undefined,
        nb = vb === null || vb === undefined;
      if (na || nb) return compare(va, vb) || a.index - b.index;
      return S.sort.dir * compare(va, vb) || a.index - b.index;
    });
    const best = bestTrial();
    const shown = currentRun();
    const body = table.tBodies[0];
    body.textContent = '';
    for (const t of rows) {
      const tr = el('tr', {
        'data-index': t.index,
        'data-status': t.status,
        class:
          `${best && best.index === t.index ? 'best' : ''} ${shown && t.runId === shown.info.id ? 'selected' : ''}`.trim(),
      });
      for (const c of cols) {
        const v = c.get(t);
        if (c.key === 'status') {
          const td = el('td');
          td.appendChild(el('span', { class: 'state', 'data-state': v }, v));
          tr.appendChild(td);
        } else {
          tr.appendChild(el('td', { class: c.num ? 'num' : '', 'data-key': c.key }, c.text ? c.text(v) : paramText(v)));
        }
      }
      tr.addEventListener('click', () => {
        if (t.runId && S.runs.has(t.runId)) {
          S.picked = t.runId;
          dirty.charts = dirty.trials = true;
          render();
        }
      });
      body.appendChild(tr);
    }
  }

  function renderParallel() {
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

  function renderSweep() {
    const sw = S.sweep;
    $('sweep').hidden = !sw;
    if (!sw) return;
    $('sweep-id').textContent = sw.id;
    $('sweep-status').textContent = sw.status;
    $('sweep-status').dataset.status = sw.status;
    const trials = [...S.trials.values()];
    const done = trials.filter(
      (t) => t.status === 'finished' || t.status === 'stopped' || t.status === 'failed',
    ).length;
    const running = trials.filter((t) => t.status === 'running').length;
    const sp = $('sweep-progress');
    sp.dataset.done = String(done);
    sp.dataset.total = String(sw.total);
    $('sweep-progress-bar').style.width = `${sw.total ? (100 * done) / sw.total : 0}%`;
    const elapsed = (now() - sw.startedAt) / 1000;
    const etaS = sw.status === 'running' && done > 0 ? ((sw.total - done) * elapsed) / done : null;
    const best = bestTrial();
    $('sweep-facts').textContent = [
      `${done} of ${sw.total} trials done`,
      running ? `${running} running` : null,
      best ? `best ${sw.metric.name} ${fmt(best.value)} (trial ${best.index})` : null,
      `${sw.metric.goal} ${sw.metric.name}`,
      sw.status === 'running' ? `ETA ${etaS === null ? 'estimating…' : duration(etaS)}` : null,
    ]
      .filter(Boolean)
      .join(' · ');
    if (dirty.trials) {
      renderTrials();
      renderParallel();
    }
  }

  // ------------------------------------------------------------------ render loop

  let renderTimer = null;
  let chartsAt = 0;
  /** long runs redraw their curves less often: the browser stays light */
  function chartInterval(r) {
    const n = r ? r.steps.length : 0;
    return n > 20000 ? 2000 : n > 5000 ? 1000 : 0;
  }
  function scheduleRender() {
    if (renderTimer === null) renderTimer = setTimeout(render, RENDER_MS);
  }

  function render() {
    if (renderTimer !== null) clearTimeout(renderTimer);
    renderTimer = null;
    try {
      renderRunPicker();
      renderHeader();
      renderWorkers();
      renderSweep(); // before the charts: an unhidden section gets its size first
      const r = currentRun();
      if (dirty.charts && Date.now() - chartsAt >= chartInterval(r)) {
        renderLoss(r);
        renderEpochs(r);
        chartsAt = Date.now();
        dirty.charts = false;
      }
      renderThroughput();
      dirty.trials = false;
    } catch (e) {
      console.error('dashboard render failed', e);
    }
  }

  setInterval(render, 1000); // heartbeats "x s ago", ETA, throughput
  window.addEventListener('resize', () => {
    for (const c of Object.values(charts)) c.resize();
  });

  // ------------------------------------------------------------------ the event stream

  let source = null;
  function setConn(state, text) {
    const c = $('conn');
    c.dataset.state = state;
    c.textContent = text;
  }

  function connect() {
    if (typeof EventSource === 'undefined') {
      setConn('closed', 'no live updates in this browser');
      return;
    }
    source = new EventSource('api/events');
    source.onopen = () => setConn('open', 'live');
    source.onerror = () => {
      if (S.ended) return;
      if (source.readyState === EventSource.CLOSED)
        setConn('closed', 'disconnected: reload the page (or log in again)');
      else setConn('reconnecting', 'reconnecting…');
    };
    for (const [name, fn] of Object.entries(handlers)) {
      source.addEventListener(name, (m) => {
        let data;
        try {
          data = JSON.parse(m.data);
        } catch {
          return;
        }
        fn(data);
        if (name === 'snapshot' || name === 'bye') render();
        else scheduleRender();
      });
    }
  }

  if (!hasCharts) {
    for (const id of ['chart-loss', 'chart-epochs', 'chart-throughput', 'chart-parallel'])
      $(id).textContent = 'charts unavailable: assets/echarts.min.js did not load';
  }
  connect();
})();
