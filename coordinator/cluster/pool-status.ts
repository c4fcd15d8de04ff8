// What the pool says about itself on /healthz and in the status file: whether its run or sweep
// is running or done (and the coordinator staying up: --stay), and the run's details (run id,
// reassignments, rejected frames). It belongs to the pool, which changes it; the server only
// reads it, through the callback it was given when constructed.
import type { HealthReport } from './server.js';

export class PoolStatus {
  private current: HealthReport['state'] = 'running';
  private details: () => Record<string, unknown> = () => ({});

  /** running the run or sweep, or done with it */
  get state(): HealthReport['state'] {
    return this.current;
  }

  /** the run or sweep is over */
  done(): void {
    this.current = 'done';
  }

  /** Report these details (asked on each /healthz request) from now on. */
  describe(details: () => Record<string, unknown>): void {
    this.details = details;
  }

  /** what /healthz says of the pool (ServerOptions.health) */
  health(): HealthReport {
    return { state: this.current, detail: this.details() };
  }
}
