// Kernel variants across processes: one job never mixes them (their bits differ), and each
// variant on its own is exact across worker counts.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelVariant } from '../../shared/kernels/index.js';
import '../../shared/node/kernels-wasm.js';
import { gradwire, tempDir, withFiles } from '../helpers/cli.js';
import { killAll, listeningPort, startCoordinator, startWorker, summary } from '../helpers/cluster.js';

const IRIS = `
data: { name: iris }
model: { hidden: [8], norm: batch, dropout: 0.2 }
batchSize: 16
microbatch: 4
epochs: 2
`;

afterAll(killAll);

describe.skipIf(kernelVariant() !== 'wasm-simd')('kernel variants (this runtime has WebAssembly SIMD)', () => {
  it('a coordinator on wasm-simd refuses a worker on js, naming both variants; a wasm-simd worker then trains', async () => {
    const dir = withFiles({ 'iris.yaml': IRIS });
    const c = startCoordinator([
      '--config',
      join(dir, 'iris.yaml'),
      '--listen',
      '127.0.0.1:0',
      '--out',
      join(dir, 'out'),
    ]);
    const port = await listeningPort(c);
    const js = startWorker(port, 'js-worker', [], undefined, { GRADWIRE_KERNELS: 'js' });
    const rejected = await c.waitForEvent('rejected', (e) => e.code === 'E_INCOMPATIBLE');
    expect(rejected.msg).toMatch(/kernel "js", this job uses "wasm-simd"/);
    expect(await js.exited).toBe(2);
    startWorker(port, 'wasm-worker');
    expect(await c.exited).toBe(0);
    expect(summary(join(dir, 'out')).weightsSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('each variant is exact on its own: in-process equals 2 workers, and the two variants differ', async () => {
    const dir = withFiles({ 'iris.yaml': IRIS });
    const sha = async (variant: string, mode: string[]): Promise<string> => {
      const out = tempDir();
      const r = await gradwire(
        ['train', ...mode, '--config', join(dir, 'iris.yaml'), '--out', out, '--log-format', 'json'],
        {
          env: { GRADWIRE_KERNELS: variant },
        },
      );
      expect(r.status, r.stderr).toBe(0);
      return summary(out).weightsSha256;
    };
    const js = await sha('js', ['--in-process']);
    const wasm = await sha('wasm-simd', ['--in-process']);
    expect(await sha('js', ['--workers', '2'])).toBe(js);
    expect(await sha('wasm-simd', ['--workers', '2'])).toBe(wasm);
    expect(wasm).not.toBe(js);
  });
});
