#!/usr/bin/env node
// The `gradwire` command. It dispatches on the command name before loading anything else, so
// that each command loads only its own code: `worker` runs worker/main (in this process: no
// SQLite, metrics, server or reports), `health` runs coordinator/cli/health (the container's
// HEALTHCHECK, every 10 s), every other command goes to the coordinator's command line
// (coordinator/cli/main, which loads one command file). It runs the compiled JavaScript in
// dist/ when the package was built (`npm run build`, as the container image is), else the
// TypeScript sources through tsx; started with tsx's loader already in place
// (`node --import tsx bin/gradwire.js`: `npm run gradwire` in a clone) it runs the sources.
import { existsSync } from 'node:fs';

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

const [command, ...args] = process.argv.slice(2);
if (command === 'worker') (await load('worker/main')).runWorker(args);
else if (command === 'health') (await load('coordinator/cli/health')).healthMain(args);
else (await load('coordinator/cli/main')).cliMain(process.argv.slice(2));
