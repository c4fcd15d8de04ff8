// The dashboard's header and facts: the run or sweep shown and its status, the run picker,
// the progress bar, step, epoch, ETA, throughput, loss, validation accuracy, workers, model.
import { $, duration, el, fmt, int, isNum, pct } from './format.js';
import { currentRun, EMA_ALPHA, now, runLabel, S } from './state.js';

export function renderRunPicker() {
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

export function renderHeader() {
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
  // a run on this process's compute threads (gradwire train) has no worker connections
  $('fact-workers').textContent =
    info?.mode === 'threads' && S.workers.length === 0
      ? `${info.threads} compute thread${info.threads === 1 ? '' : 's'} (this process)`
      : `${ready} ready${live.length > ready ? ` / ${live.length}` : ''}${gone ? ` · ${gone} gone` : ''}${S.failures ? ` · ${S.failures} lost mid-step` : ''}`;
  $('fact-model').textContent = info ? `${info.model} · ${info.dataset} · batch ${info.batchSize}` : '—';
  $('fact-run').textContent = info ? (info.kind === 'trial' ? `trial ${info.trial} (${info.status})` : info.id) : '—';
  $('fact-run').title = info ? info.id : '';
}
