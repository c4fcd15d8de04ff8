// gradwire's live dashboard: plain browser JavaScript (ES modules, no build step), ECharts served
// by the coordinator itself. This module, the page's entry point, reads the coordinator's
// server-sent events (api/events): a `snapshot` first, then `run`, `steps` (batched points),
// `epoch`, `sweep`, `trial`, `worker-gone`, `failure`, `reassignment`, a `workers` list every
// second, and `bye` when the coordinator shuts down; and redraws the page. Read-only: it never
// sends anything back. The rest: state.js (what the page knows), format.js (numbers, text, DOM
// helpers), header.js (status and facts), tables.js (workers, sweep, trials), charts.js.
//
// Stable hooks for tests and scripts: #status[data-status], #progress[data-step][data-total],
// #workers tbody tr[data-worker][data-state][data-kernel], #chart-loss[data-points][data-last-step],
// #chart-epochs[data-points], #chart-throughput[data-points], #trials (th[data-key],
// tbody tr[data-index]), #chart-parallel[data-lines], #conn[data-state].

import { chartsUnavailable, hasCharts, renderEpochs, renderLoss, renderThroughput, resizeCharts } from './charts.js';
import { $ } from './format.js';
import { renderHeader, renderRunPicker } from './header.js';
import { currentRun, dirty, handlers, S } from './state.js';
import { renderSweep, renderWorkers } from './tables.js';

/** the charts redraw at most this often */
const RENDER_MS = 300;

$('run-select').addEventListener('change', (ev) => {
  S.picked = ev.target.value || null;
  dirty.charts = true;
  scheduleRender();
});

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
    renderSweep(render); // before the charts: an unhidden section gets its size first
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
window.addEventListener('resize', resizeCharts);

// ------------------------------------------------------------------ the event stream

let source = null;
function setConn(state, text) {
  const c = $('conn');
  c.dataset.state = state;
  c.textContent = text;
}

/** every event's handler: the state's, and the coordinator's goodbye */
const events = {
  ...handlers,
  bye: () => {
    S.ended = true;
    if (source) source.close();
    setConn('ended', 'coordinator stopped');
  },
};

function connect() {
  if (typeof EventSource === 'undefined') {
    setConn('closed', 'no live updates in this browser');
    return;
  }
  source = new EventSource('api/events');
  source.onopen = () => setConn('open', 'live');
  source.onerror = () => {
    if (S.ended) return;
    if (source.readyState === EventSource.CLOSED) setConn('closed', 'disconnected: reload the page (or log in again)');
    else setConn('reconnecting', 'reconnecting…');
  };
  for (const [name, fn] of Object.entries(events)) {
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

if (!hasCharts) chartsUnavailable();
connect();
