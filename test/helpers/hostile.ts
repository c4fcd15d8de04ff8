// Hostile names for the escaping tests: a worker name and a config value (a CSV dataset's path,
// which the dashboard shows as the dataset's name) holding markup, quotes and a backslash, and a
// small run that uses them. Shared by test/integration/escaping.test.ts (pages, reports, JSON,
// server-sent events, /metrics) and test/e2e/hostile-names.test.ts (the dashboard in a browser).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './cli.js';

/** a worker name: an element with a handler, a script, a quote that would close an attribute, a
 *  backslash (Prometheus and JSON escape it); 69 characters, within the protocol's 100 */
export const HOSTILE_WORKER = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>"\\';

/** a CSV dataset's path relative to the config (a folder `<script>x<`, a file `script>".csv`):
 *  the run's dataset name, shown by the dashboard and the run report */
export const HOSTILE_CSV = '<script>x</script>".csv';

/** A run on a 3-class CSV of 90 rows read from HOSTILE_CSV: 72 training rows, batch 16, 5 steps
 *  an epoch. Returns the config file's path (the CSV beside it). */
export function hostileRun(epochs: number): string {
  const dir = tempDir('gradwire-hostile-');
  mkdirSync(join(dir, '<script>x<'));
  const rows = ['x1,x2,label'];
  for (let i = 0; i < 90; i++) {
    const c = i % 3;
    rows.push(`${(c + Math.sin(i)).toFixed(4)},${(c * 0.5 + Math.cos(i * 1.7)).toFixed(4)},c${c}`);
  }
  writeFileSync(join(dir, HOSTILE_CSV), `${rows.join('\n')}\n`);
  const config = join(dir, 'run.yaml');
  writeFileSync(
    config,
    `seed: 5
data: { name: csv, path: ${JSON.stringify(HOSTILE_CSV)}, labelColumn: label }
model: { hidden: [8], activation: tanh }
optimizer: { name: adam, lr: 0.01 }
batchSize: 16
microbatch: 8
epochs: ${epochs}
`,
  );
  return config;
}
