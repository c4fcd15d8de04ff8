// The live dashboard at `/` (see the helper brief): installed on the coordinator's port.
import type { CoordinatorServer } from './server.js';

export function installDashboard(server: CoordinatorServer): void {
  void server;
}
