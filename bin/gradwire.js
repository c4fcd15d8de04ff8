#!/usr/bin/env node
// The `gradwire` command. It dispatches on the command name before loading anything else, so
// that each command loads only its own code: `worker` runs worker/main (in this process: no
// SQLite, metrics, server or reports), `health` runs coordinator/cli/health (the container's
// HEALTHCHECK, every 10 s), every other command goes to the coordinator's command line
// (coordinator/cli/main, which loads one command file). It runs the compiled JavaScript in
// dist/ when the package was built (`npm run build`, as the container image is), else the
// TypeScript sources through tsx; started with tsx's loader already in place
// (`node --import tsx bin/gradwire.js`: `npm run gradwire` in a clone) it runs the sources.
import { existsSync, readFileSync } from 'node:fs';

const [command, ...args] = process.argv.slice(2);
// `gradwire --version` (-V): the version in the package's package.json — beside bin/ in a clone,
// an installed package and the image (/app); one folder further up from a test build's bin/
if (command === '--version' || command === '-V') {
  for (const up of ['../package.json', '../../package.json']) {
    const file = new URL(up, import.meta.url);
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8'));
    if (pkg.name !== 'gradwire') continue;
    process.stdout.write(`gradwire ${pkg.version}\n`);
    process.exit(0);
  }
  process.stderr.write('gradwire: internal error: no package.json of gradwire beside bin/\n');
  process.exit(1);
}

const withTsx = process.execArgv.some((a) => a.includes('tsx'));
const dist = new URL('../dist/', import.meta.url);
const compiled = !withTsx && existsSync(new URL('coordinator/cli/main.js', dist));
if (!compiled && !withTsx) {
  const { register } = await import('tsx/esm/api');
  register();
}
/** a module of this package by its path without extension, compiled or source */
const load = (path) =>
  import(compiled ? new URL(`${path}.js`, dist).href : new URL(`../${path}.ts`, import.meta.url).href);

if (command === 'worker') (await load('worker/main')).runWorker(args);
else if (command === 'health') (await load('coordinator/cli/health')).healthMain(args);
else (await load('coordinator/cli/main')).cliMain(process.argv.slice(2));
