// The build tools alone, pinned by the repository's lock: deploy/Dockerfile's build stage runs
//   node build-tools-lock.mjs package-lock.json DIR && cd DIR && npm ci
// so that DIR/node_modules holds typescript, assemblyscript and the @types packages the compile
// reads (the root's devDependencies of those names) plus everything they depend on, at the
// versions, tarballs and integrity hashes package-lock.json gives, and no other dev dependency.
// Writes DIR/package.json and DIR/package-lock.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [lockFile, dir] = process.argv.slice(2);
if (!lockFile || !dir) {
  console.error('usage: node build-tools-lock.mjs PACKAGE-LOCK.JSON DIR');
  process.exit(2);
}
const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
const packages = lock.packages;
const dev = packages[''].devDependencies ?? {};
const tools = Object.fromEntries(
  Object.entries(dev).filter(([name]) => ['typescript', 'assemblyscript'].includes(name) || name.startsWith('@types/')),
);

/** the lock's key of the package `name` as the package at `from` finds it: node_modules/name
 *  beside it, else in each folder above (npm's layout) */
function locate(from, name) {
  for (let at = from; ; at = at.slice(0, Math.max(0, at.lastIndexOf('/node_modules/')))) {
    const key = `${at ? `${at}/` : ''}node_modules/${name}`;
    if (packages[key]) return key;
    if (!at) return null;
  }
}

const picked = {};
const queue = Object.keys(tools).map((name) => ['', name, false]);
while (queue.length) {
  const [from, name, optional] = queue.shift();
  const key = locate(from, name);
  if (!key) {
    if (optional) continue; // an optional dependency the lock left out (another platform's)
    throw new Error(`${lockFile}: no entry for ${name} (needed by ${from || 'the root'})`);
  }
  if (picked[key]) continue;
  const { dev: _d, devOptional: _o, peer: _p, ...entry } = packages[key];
  picked[key] = entry;
  const optionalPeers = entry.peerDependenciesMeta ?? {};
  for (const d of Object.keys(entry.dependencies ?? {})) queue.push([key, d, false]);
  for (const d of Object.keys(entry.optionalDependencies ?? {})) queue.push([key, d, true]);
  for (const d of Object.keys(entry.peerDependencies ?? {})) queue.push([key, d, !!optionalPeers[d]?.optional]);
}

const manifest = { name: 'gradwire-build-tools', private: true, dependencies: tools };
const subset = { name: manifest.name, lockfileVersion: 3, requires: true, packages: { '': manifest } };
for (const key of Object.keys(picked).sort()) subset.packages[key] = picked[key];
writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(subset, null, 2)}\n`);
console.log(`build tools: ${Object.keys(picked).length} packages (${Object.keys(tools).join(', ')})`);
