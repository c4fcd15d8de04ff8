// The messages between the page (page.ts, the UI thread) and its agent (agent.ts, the dedicated
// Web Worker that runs the worker core), one definition for both sides.
import type { CoreState } from '../core/client.js';

/** the agent's script: the page starts it, and it starts its compute threads from it */
export const AGENT_URL = '/join/agent.js';

export type ToAgent =
  /** join the pool: the coordinator is the page's own origin */
  | {
      type: 'join';
      token: string | null;
      name: string;
      threads: number;
      /** the page's engine validates WebAssembly SIMD (the agent checks its own as well) */
      simd: boolean;
    }
  /** leave: the connection closes cleanly (1001) and the coordinator reassigns the work at once */
  | { type: 'leave' };

export type FromAgent =
  /** what the worker is doing; `reason` says why it was refused or stopped */
  | { type: 'state'; state: CoreState | 'error'; reason?: string }
  /** a job was loaded */
  | { type: 'job'; jobId: string; epochs: number; batchSize: number; samples: number; threads: number }
  /** this page's shares of `steps` steps were sent (the last of them: `step`): their samples
   *  and their passes' wall time summed */
  | { type: 'steps'; jobId: string; step: number; steps: number; samples: number; ms: number }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string };
