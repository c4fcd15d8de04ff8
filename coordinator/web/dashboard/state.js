// The dashboard's state: what the page knows of the coordinator (runs with their steps and
// epochs, the sweep and its trials, the workers, samples per second), kept up to date by the
// event handlers below; which run the charts show. No DOM here.

/** points kept per run in the page */
export const MAX_STEPS = 100000;
/** throughput history kept, seconds */
export const MAX_BUCKETS = 3600;
export const EMA_ALPHA = 0.05;

export const S = {
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
/** what changed since the last render */
export const dirty = { charts: true, trials: true };

/** the coordinator's clock, ms */
export const now = () => Date.now() + S.offset;

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

/** the server-sent events that change the state, by name (`bye` is the connection's) */
export const handlers = {
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
};

// ------------------------------------------------------------------ which run

/** the run the charts show: the one picked, else the latest running (else the latest) */
export function currentRun() {
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

export function runLabel(info) {
  return info.kind === 'trial' && info.trial !== null ? `trial ${info.trial}` : info.id;
}
