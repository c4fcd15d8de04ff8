// The dependency rules of DESIGN.md, checked with dependency-cruiser (.dependency-cruiser.cjs):
// no cycles, a pure shared/ core (its Node-only edge, shared/node/, apart), coordinator and
// worker apart, one-way edges inside the coordinator, and light `gradwire worker` /
// `gradwire health` entry points.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from '../helpers/cli.js';

interface Cruise {
  modules: Array<{ source: string; dependencies: Array<{ resolved: string }> }>;
  summary: { violations: Array<{ rule: { name: string }; from: string; to: string }> };
}

async function depcruise(paths: string[]): Promise<Cruise> {
  const r = await run(
    process.execPath,
    [
      join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'),
      ...paths,
      '--config',
      '.dependency-cruiser.cjs',
      '--output-type',
      'json',
    ],
    { cwd: ROOT },
  );
  if (!r.stdout) throw new Error(`depcruise failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Cruise;
}

describe('dependency rules', () => {
  it('the source tree has no violation of the rules', async () => {
    const { summary } = await depcruise(['bin', 'coordinator', 'worker', 'shared']);
    expect(summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  });

  it('the pure core (shared/ outside shared/node/) imports no Node I/O module and nothing in shared/node/', async () => {
    const core = (await depcruise(['shared'])).modules.filter(
      (m) => /^shared\//.test(m.source) && !/^shared\/node\//.test(m.source),
    );
    expect(core.length).toBeGreaterThan(0);
    const edges = core.flatMap((m) => m.dependencies.map((d) => `${m.source} → ${d.resolved}`));
    expect(
      edges.filter((e) => / → (shared\/node\/|(node:)?(fs|net|http|https|child_process|crypto|os)$)/.test(e)),
    ).toEqual([]);
  });

  it('`gradwire worker` and `gradwire health` reach no SQLite, prom-client, server, store, reports or pages', async () => {
    for (const entry of ['worker/main.ts', 'coordinator/cli/health.ts']) {
      const reached = (await depcruise([entry])).modules.map((m) => m.source);
      expect(reached).toContain(entry);
      expect(
        reached.filter((s) =>
          /better-sqlite3|prom-client|echarts|^coordinator\/(cluster|store|report|web|sweep|run)\//.test(s),
        ),
        entry,
      ).toEqual([]);
    }
  });
});
