// The dashboard's tables: the workers (name, kind and user agent, address, kernel, threads,
// speed, state, heartbeat, job) and, for a sweep, its section: progress, facts, the sortable trials table (a row's click
// shows that trial's curves) and the parallel-coordinates chart. Cells are filled as text only.
import { renderParallel } from './charts.js';
import { $, ago, duration, el, fmt, int, isNum, paramText, pct } from './format.js';
import { currentRun, dirty, now, S } from './state.js';

/** The workers table's columns, in order: the header is drawn from them (one source). */
const WORKER_COLUMNS = [
  { label: 'name', class: 'name', text: (w) => w.name },
  { label: 'kind', class: 'kind', text: (w) => w.kind || 'node' },
  // a browser's user agent: text from the page (textContent, never markup), cut to a line by the
  // stylesheet, whole in the cell's title
  { label: 'user agent', class: 'agent', text: (w) => w.userAgent || '—', title: (w) => w.userAgent || '' },
  { label: 'address', class: 'address', text: (w) => w.address },
  { label: 'kernel', class: 'kernel', text: (w) => w.kernel || '—' },
  { label: 'threads', class: 'num threads', text: (w) => (w.threads > 0 ? int(w.threads) : '1') },
  {
    label: 'samples/s',
    class: 'num speed',
    text: (w) => (w.samplesPerSecond > 0 ? int(w.samplesPerSecond) : '—'),
  },
  { label: 'state', class: 'state-cell', text: null },
  {
    label: 'last heartbeat',
    class: 'heartbeat',
    text: (w) =>
      w.state === 'gone' ? `gone ${ago(w.goneAt)}${w.reason ? `: ${w.reason}` : ''}` : ago(w.lastHeartbeat),
  },
  { label: 'job', class: 'job', text: (w) => w.job || '—' },
];

function workersHead() {
  const head = $('workers').tHead.rows[0];
  const want = WORKER_COLUMNS.map((c) => c.label).join('\n');
  if (head.dataset.cols === want) return;
  head.textContent = '';
  for (const c of WORKER_COLUMNS)
    head.appendChild(el('th', { class: c.class.startsWith('num') ? 'num' : '', scope: 'col' }, c.label));
  head.dataset.cols = want;
}

export function renderWorkers() {
  workersHead();
  const body = $('workers').tBodies[0];
  body.textContent = '';
  for (const w of S.workers) {
    const gone = w.state === 'gone';
    const tr = el('tr', {
      'data-worker': w.name,
      'data-state': w.state,
      'data-id': w.id,
      'data-kernel': w.kernel || '',
      'data-kind': w.kind || 'node',
      'data-threads': w.threads || 1,
      class: gone ? 'gone' : '',
    });
    for (const c of WORKER_COLUMNS) {
      if (c.text) {
        tr.appendChild(el('td', c.title ? { class: c.class, title: c.title(w) } : { class: c.class }, c.text(w)));
        continue;
      }
      const st = el('td', { class: c.class });
      st.appendChild(el('span', { class: 'state', 'data-state': w.state }, w.state));
      tr.appendChild(st);
    }
    body.appendChild(tr);
  }
  $('workers-empty').hidden = S.workers.length > 0;
}

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
    {
      key: 'value',
      label: metric,
      num: true,
      get: (t) => t.value,
      text: (v, t) => withInterval(fmt(v), t.spread, (h) => (h < 1e-9 ? '0' : fmt(h, 2)), '', null, false),
    },
    {
      key: 'valAccuracy',
      label: 'val accuracy',
      num: true,
      get: (t) => t.valAccuracy,
      text: (v, t) => withInterval(pct(v), t.valAccuracySpread, (h) => (h * 100).toFixed(2), '%', t.seeds),
      bar: true,
    },
    { key: 'epochs', label: 'epochs', num: true, get: (t) => t.epochs },
  ];
}

/** a value with its 95% interval over the seeds: "91.20 ± 0.60% (3 seeds)" (the metric's column
 *  leaves the count to the accuracy's); as it is when the trial has no spread (one seed, or a
 *  coordinator without seeds) */
function withInterval(text, sp, half, unit, seeds, count = true) {
  if (!sp || !isNum(sp.lo) || !isNum(sp.hi) || !(sp.n >= 2)) return text;
  const k = seeds && seeds.length > sp.n ? `${sp.n} of ${seeds.length}` : String(sp.n);
  const base = unit && text.endsWith(unit) ? text.slice(0, -unit.length) : text;
  return `${base} ± ${half((sp.hi - sp.lo) / 2)}${unit}${count ? ` (${k} seeds)` : ''}`;
}

/** the sweep's accuracy range over every interval and mean (the whiskers' common scale) */
function accuracyRange(trials) {
  let lo = Infinity,
    hi = -Infinity;
  for (const t of trials) {
    const sp = t.valAccuracySpread;
    for (const v of [t.valAccuracy, sp && sp.n >= 2 ? sp.lo : null, sp && sp.n >= 2 ? sp.hi : null])
      if (isNum(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
  }
  return hi > lo ? { lo, hi } : null;
}

/** a whisker drawn to the sweep's common scale: the 95% interval and a tick at the mean */
function errorBar(t, range) {
  const sp = t.valAccuracySpread;
  if (!range || !sp || !(sp.n >= 2) || !isNum(sp.lo) || !isNum(sp.hi)) return null;
  const at = (v) => `${(100 * (v - range.lo)) / (range.hi - range.lo)}%`;
  const bar = el('span', {
    class: 'errbar',
    'data-lo': sp.lo,
    'data-hi': sp.hi,
    'data-n': sp.n,
    title: `95% interval over ${sp.n} seeds: ${pct(sp.lo)} to ${pct(sp.hi)}`,
  });
  const whisker = el('span', { class: 'whisker' });
  whisker.style.left = at(sp.lo);
  whisker.style.width = `${(100 * (sp.hi - sp.lo)) / (range.hi - range.lo)}%`;
  const mean = el('span', { class: 'mean' });
  mean.style.left = at(sp.mean);
  bar.append(whisker, mean);
  return bar;
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

function renderTrials(render) {
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
  const range = accuracyRange(rows);
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
        const td = el('td', { class: c.num ? 'num' : '', 'data-key': c.key }, c.text ? c.text(v, t) : paramText(v));
        const bar = c.bar ? errorBar(t, range) : null;
        if (bar) td.appendChild(bar);
        tr.appendChild(td);
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

/** `render` redraws the page (after a click: a new sort order, a trial picked) */
export function renderSweep(render) {
  const sw = S.sweep;
  $('sweep').hidden = !sw;
  if (!sw) return;
  $('sweep-id').textContent = sw.id;
  $('sweep-status').textContent = sw.status;
  $('sweep-status').dataset.status = sw.status;
  const trials = [...S.trials.values()];
  const done = trials.filter((t) => t.status === 'finished' || t.status === 'stopped' || t.status === 'failed').length;
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
    renderTrials(render);
    renderParallel();
  }
}
