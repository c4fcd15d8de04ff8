// The first module of a compute thread when gradwire runs from its TypeScript sources: Node 20
// does not hand tsx's --import loader on to worker threads, so the thread registers it itself,
// then loads the thread's real entry (compute-thread.ts). Compiled (dist/), threads start from
// compute-thread.js directly and this file is not used.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
