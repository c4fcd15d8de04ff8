// Before the suites: compile gradwire once into .test-dist/ (bin/gradwire.js beside dist/, as in
// the container image), so that the many coordinator, worker and CLI processes the tests start
// run JavaScript instead of loading the TypeScript sources through tsx each (and each compute
// thread again): the same code, a fraction of the start-up CPU on a 2-core machine. The build
// is redone only when a source is newer than it. GRADWIRE_TEST_SOURCES=1 runs the tests on the
// sources through tsx instead (test/helpers/cli.ts).
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, '.test-dist');
const STAMP = join(OUT, 'built');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'build') continue;
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): void {
  if (process.env.GRADWIRE_TEST_SOURCES === '1') return;
  const sources = Math.max(
    ...['bin', 'coordinator', 'worker', 'shared'].map((d) => newest(join(ROOT, d))),
    statSync(join(ROOT, 'shared/kernels/build/kernels.wasm')).mtimeMs,
    statSync(join(ROOT, 'tsconfig.json')).mtimeMs,
  );
  if (existsSync(STAMP) && statSync(STAMP).mtimeMs >= sources) return;
  rmSync(OUT, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      join(OUT, 'dist'),
      '--sourceMap',
      'false',
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
  cpSync(join(ROOT, 'coordinator/web/dashboard'), join(OUT, 'dist/coordinator/web/dashboard'), { recursive: true });
  // the browser worker's page and stylesheet (its scripts are bundled from the compiled .js)
  if (existsSync(join(ROOT, 'worker/browser')))
    cpSync(join(ROOT, 'worker/browser'), join(OUT, 'dist/worker/browser'), {
      recursive: true,
      filter: (f) => !f.endsWith('.ts'),
    });
  // predict's helper thread: plain JavaScript, run as it is
  copyFileSync(
    join(ROOT, 'coordinator/model/first-layer-thread.mjs'),
    join(OUT, 'dist/coordinator/model/first-layer-thread.mjs'),
  );
  mkdirSync(join(OUT, 'dist/shared/kernels/build'), { recursive: true });
  copyFileSync(join(ROOT, 'shared/kernels/build/kernels.wasm'), join(OUT, 'dist/shared/kernels/build/kernels.wasm'));
  mkdirSync(join(OUT, 'bin'), { recursive: true });
  copyFileSync(join(ROOT, 'bin/gradwire.js'), join(OUT, 'bin/gradwire.js'));
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
}
