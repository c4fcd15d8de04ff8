// The /metrics series read from the WebSocket server at scrape time: bytes and frames on the
// wire, worker connections by state, and per connected worker what it is (a Node process or a
// browser page, its user agent), its compute threads and speed.
// Part of the coordinator's registry (metrics.ts).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CoordinatorServer, WorkerConn, WorkerState } from '../cluster/server.js';

const PREFIX = 'gradwire_';
const WORKER_STATES: WorkerState[] = ['handshake', 'idle', 'loading', 'ready'];

export function wireAndWorkerMetrics(server: CoordinatorServer, registers: Registry[]): void {
  const mirror = (name: string, help: string, read: () => number): void => {
    let last = 0;
    new Counter({
      name,
      help,
      registers,
      collect() {
        const v = read();
        // the server's totals only grow; a counter must never go down whatever happens
        if (v > last) {
          this.inc(v - last);
          last = v;
        }
      },
    });
  };
  mirror(
    `${PREFIX}bytes_received_total`,
    'Bytes received from workers (WebSocket message payloads, all connections since the start)',
    () => server.bytesIn,
  );
  mirror(
    `${PREFIX}bytes_sent_total`,
    'Bytes sent to workers (WebSocket message payloads, all connections since the start; datasets served over HTTP not included)',
    () => server.bytesOut,
  );
  mirror(
    `${PREFIX}rejected_frames_total`,
    'Frames from workers that were rejected (malformed, oversized, unexpected); each closes its connection',
    () => server.rejectedFrames,
  );
  new Gauge({
    name: `${PREFIX}workers`,
    help: "Worker connections by state: handshake (not authenticated yet), idle (no job), loading (fetching its job's dataset), ready (training)",
    labelNames: ['state'] as const,
    registers,
    collect() {
      const n: Record<WorkerState, number> = { handshake: 0, idle: 0, loading: 0, ready: 0 };
      for (const c of server.conns.values()) n[c.state]++;
      for (const s of WORKER_STATES) this.set({ state: s }, n[s]);
    },
  });
  new Gauge({
    name: `${PREFIX}workers_connected`,
    help: 'Authenticated workers connected (every state but handshake)',
    registers,
    collect() {
      let n = 0;
      for (const c of server.conns.values()) if (c.state !== 'handshake') n++;
      this.set(n);
    },
  });
  new Gauge({
    name: `${PREFIX}worker_info`,
    help: "Each connected worker, always 1: kind is node (a worker process) or browser (a page at /join), user_agent the browser's (empty for node)",
    labelNames: ['worker', 'name', 'kind', 'user_agent'] as const,
    registers,
    collect() {
      this.reset();
      for (const c of server.conns.values())
        if (c.state !== 'handshake')
          this.set({ worker: c.id, name: c.name, kind: c.kind, user_agent: c.agent?.userAgent ?? '' }, 1);
    },
  });
  // per worker (authenticated connections), labelled by its id (w3, as in the logs) and name
  const perWorker = (name: string, help: string, read: (c: WorkerConn) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['worker', 'name'] as const,
      registers,
      collect() {
        this.reset();
        for (const c of server.conns.values())
          if (c.state !== 'handshake') this.set({ worker: c.id, name: c.name }, read(c));
      },
    });
  };
  perWorker(
    `${PREFIX}worker_threads`,
    'Compute threads of each connected worker process (--threads, said in its hello; 1 for a worker that does not say)',
    (c) => c.threads,
  );
  perWorker(
    `${PREFIX}worker_samples_per_second`,
    'Measured speed of each connected worker: samples per second of its passes (from the computeMs of its gradients, a moving average), all its threads together; 0 until measured. The coordinator shares out microbatches in proportion to it',
    (c) => c.speed * 1000,
  );
  perWorker(
    `${PREFIX}worker_samples_per_second_per_thread`,
    "Measured speed of each connected worker divided by its compute threads (gradwire_worker_samples_per_second / gradwire_worker_threads): one thread's share, to compare machines; 0 until measured",
    (c) => (c.speed * 1000) / Math.max(1, c.threads),
  );
}
