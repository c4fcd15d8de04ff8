// Preloaded into a process under test (node --import THIS_FILE) to record its memory: every
// GRADWIRE_TEST_MEMORY_MS (default 500) it forces a full garbage collection and appends
// {t, rss, heapUsed, external, arrayBuffers} as one JSON line to GRADWIRE_TEST_MEMORY_FILE.
// After a forced collection, what remains is what the process retains: a leak shows as growth.
// Test-only: the product never loads it.
import { appendFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const file = process.env.GRADWIRE_TEST_MEMORY_FILE;
if (file) {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  const every = Number(process.env.GRADWIRE_TEST_MEMORY_MS || 500);
  const sample = () => {
    gc();
    const m = process.memoryUsage();
    appendFileSync(
      file,
      `${JSON.stringify({ t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })}\n`,
    );
  };
  setInterval(sample, every).unref();
}
