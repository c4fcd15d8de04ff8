#!/usr/bin/env node
// The installed `gradwire` command. It runs the compiled JavaScript in dist/ when the package
// was built (`npm run build`, as the container image is), else the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const dist = new URL('../dist/coordinator/cli.js', import.meta.url);
if (existsSync(dist)) {
  await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../coordinator/cli.ts', import.meta.url).href);
}
