// The join page's script (the entry of the page bundle, /join/page.js): reads the token from the
// token field or the URL fragment (#token=…, never a query string: a fragment is not sent to the
// server; it is removed from the address bar at once), starts the agent (agent.ts, a dedicated
// Web Worker: /join/agent.js) and shows what it does. Element ids are listed in join.html.
import { hasWasmSimd } from '../../shared/kernels/simd-probe.js';
import { AGENT_URL, type FromAgent, type ToAgent } from './messages.js';

/** the states in which the page holds no connection (Join is enabled) */
const INACTIVE = ['not joined', 'stopped', 'refused', 'error'];

const el = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`join.html has no #${id}`);
  return e as T;
};
const ui = {
  token: el<HTMLInputElement>('token'),
  join: el<HTMLButtonElement>('join'),
  leave: el<HTMLButtonElement>('leave'),
  status: el('status'),
  reason: el('reason'),
  steps: el('steps'),
  samples: el('samples'),
  rate: el('rate'),
  progress: el('progress'),
  throttled: el('throttled'),
};

/** The fragment's settings (token=…, threads=N), and the fragment without the token. */
function readFragment(): { token: string | null; threads: number; rest: string } {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token');
  params.delete('token');
  const t = Number(params.get('threads') ?? '1');
  const threads = Number.isInteger(t) && t >= 1 && t <= 64 ? t : 1;
  const rest = params.toString();
  return { token: token && token.length > 0 ? token : null, threads, rest: rest ? `#${rest}` : '' };
}

const fragment = readFragment();
if (fragment.token !== null) history.replaceState(null, '', `${location.pathname}${location.search}${fragment.rest}`);

const name = `browser-${Array.from(crypto.getRandomValues(new Uint8Array(3)), (b) => b.toString(16).padStart(2, '0')).join('')}`;
let agent: Worker | null = null;
let totals = { steps: 0, samples: 0, ms: 0 };
let job: Extract<FromAgent, { type: 'job' }> | null = null;

function setState(state: string, reason = ''): void {
  ui.status.textContent = state;
  ui.status.dataset.state = state;
  ui.reason.textContent = reason;
  const active = !INACTIVE.includes(state);
  ui.join.disabled = active;
  ui.leave.disabled = !active;
}

function showCounts(): void {
  ui.steps.textContent = String(totals.steps);
  ui.samples.textContent = String(totals.samples);
  ui.rate.textContent = totals.ms > 0 ? String(Math.round((totals.samples * 1000) / totals.ms)) : '0';
}

function onAgent(m: FromAgent): void {
  switch (m.type) {
    case 'state':
      setState(m.state, m.reason);
      if (m.state === 'stopped' || m.state === 'refused' || m.state === 'error') stopAgent();
      return;
    case 'job':
      job = m;
      ui.progress.textContent = `run ${m.jobId}: loaded (${m.samples} samples, ${m.epochs} epochs of batches of ${m.batchSize})`;
      return;
    case 'steps':
      totals = { steps: totals.steps + m.steps, samples: totals.samples + m.samples, ms: totals.ms + m.ms };
      showCounts();
      ui.progress.textContent = `run ${m.jobId}: step ${m.step}${job ? ` (${job.epochs} epochs)` : ''}`;
      return;
    case 'log':
      if (m.level === 'error' || m.level === 'warn') console.warn(`gradwire: ${m.message}`);
      return;
  }
}

function send(m: ToAgent): void {
  agent?.postMessage(m);
}

function stopAgent(): void {
  // the agent's socket is closed by then; ending the Web Worker frees its kernels' memory
  agent?.terminate();
  agent = null;
}

function join(): void {
  if (agent) return;
  const typed = ui.token.value.trim();
  ui.token.value = '';
  const token = typed.length > 0 ? typed : fragment.token;
  totals = { steps: 0, samples: 0, ms: 0 };
  showCounts();
  agent = new Worker(AGENT_URL);
  agent.onmessage = (ev: MessageEvent<FromAgent>) => onAgent(ev.data);
  agent.onerror = (ev) => {
    setState('error', `the worker script failed: ${ev.message}`);
    stopAgent();
  };
  setState('connecting');
  send({ type: 'join', token, name, threads: fragment.threads, simd: hasWasmSimd() });
}

/** Leave the pool: the agent closes its connection cleanly (1001), so the coordinator hands this
 *  page's microbatches to others at once. */
function leave(): void {
  send({ type: 'leave' });
}

function showVisibility(): void {
  const hidden = document.visibilityState === 'hidden';
  ui.throttled.textContent = hidden ? 'background tab: the browser may throttle this page' : '';
  ui.throttled.hidden = !hidden;
}

ui.join.addEventListener('click', join);
ui.leave.addEventListener('click', leave);
document.addEventListener('visibilitychange', showVisibility);
window.addEventListener('pagehide', leave);
setState('not joined');
showCounts();
showVisibility();
// a link that carries the token joins at once (the fastest way to pool a classroom's laptops)
if (fragment.token !== null) join();
