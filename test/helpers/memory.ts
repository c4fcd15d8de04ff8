// Memory of a process under test, recorded by memory-probe.mjs (preloaded through
// NODE_OPTIONS): samples taken after a forced full GC, so they show what the process retains.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export interface MemorySample {
  t: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** Environment that makes a node process record its memory into `file` every `everyMs`. */
export function memoryProbeEnv(file: string, everyMs = 500): Record<string, string> {
  const probe = join(ROOT, 'test/helpers/memory-probe.mjs');
  return {
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${probe}`.trim(),
    GRADWIRE_TEST_MEMORY_FILE: file,
    GRADWIRE_TEST_MEMORY_MS: String(everyMs),
  };
}

export function readSamples(file: string): MemorySample[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as MemorySample);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

export interface Growth {
  samples: number;
  /** MB at the start and end of the window (median of 3 samples each) and their difference */
  rss: { start: number; end: number; growth: number };
  heapUsed: { start: number; end: number; growth: number };
  external: { start: number; end: number; growth: number };
}

/** Growth between the start and the end of [from, to] (ms since epoch): the median of the first
 *  three samples against the median of the last three, in MB. */
export function growth(samples: MemorySample[], from: number, to: number): Growth {
  const win = samples.filter((s) => s.t >= from && s.t <= to);
  if (win.length < 6)
    throw new Error(`only ${win.length} memory samples between warm-up and the end: the run was too short to judge`);
  const of = (k: 'rss' | 'heapUsed' | 'external') => {
    const start = median(win.slice(0, 3).map((s) => s[k])) / 1e6;
    const end = median(win.slice(-3).map((s) => s[k])) / 1e6;
    return {
      start: Math.round(start * 10) / 10,
      end: Math.round(end * 10) / 10,
      growth: Math.round((end - start) * 10) / 10,
    };
  };
  return { samples: win.length, rss: of('rss'), heapUsed: of('heapUsed'), external: of('external') };
}
