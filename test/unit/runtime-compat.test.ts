// The handshake's rule for which workers may join a job (shared/protocol.ts runtimeMismatch):
// the kernel variant and kernel build always, the V8 version and the math fingerprint only for
// the js kernels, which call the runtime's elementary functions. And the facts a process
// reports: the kernel build is the sha256 of kernels.wasm, the fingerprint a stable hash.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelBuild, kernelFacts, kernelVariant } from '../../shared/kernels/index.js';
import '../../shared/node/kernels-wasm.js';
import { USES_RUNTIME_MATH, mathFingerprint } from '../../shared/kernels/runtime-math.js';
import { decodeToCoordinator, encode, runtimeMismatch, type RuntimeInfo } from '../../shared/protocol.js';
import { ROOT } from '../helpers/cli.js';

const BUILD = `${'c0ffee'.repeat(10)}c0ff`;
const wasm: RuntimeInfo = {
  node: '20.20.2',
  v8: '11.3.244.8-node.38',
  kernel: 'wasm-simd',
  kernelBuild: BUILD,
  math: '08543ae18aa63ac0',
};
const js: RuntimeInfo = { ...wasm, kernel: 'js', kernelBuild: '' };
/** the next patch release: another V8 patch level, maybe other elementary functions */
const patch = { node: '20.20.3', v8: '11.3.244.8-node.39', math: 'ffffffffffffffff' };

describe('runtimeMismatch', () => {
  it('wasm-simd: another Node.js, V8 and math fingerprint join when the kernel build is the same', () => {
    expect(runtimeMismatch(wasm, wasm)).toBeNull();
    expect(runtimeMismatch(wasm, { ...wasm, ...patch })).toBeNull();
    expect(runtimeMismatch(wasm, { ...wasm, node: '22.11.0', v8: '12.4.254.21-node.21' })).toBeNull();
  });

  it('wasm-simd: another kernel build is refused, naming both builds, whatever the runtime', () => {
    for (const runtime of [{}, patch]) {
      const m = runtimeMismatch(wasm, { ...wasm, ...runtime, kernelBuild: 'ab'.repeat(32) });
      expect(m?.field).toBe('kernelBuild');
      expect(m?.message).toMatch(
        new RegExp(
          `^runs another build of the wasm-simd kernels: kernel build ${'ab'.repeat(32)}, the coordinator's is ${BUILD} `,
        ),
      );
      expect(m?.message).toMatch(
        /run the same gradwire version on both sides.*sha256sum shared\/kernels\/build\/kernels\.wasm$/,
      );
    }
    expect(runtimeMismatch(wasm, { ...wasm, kernelBuild: undefined })?.message).toMatch(
      /kernel build \(not reported\), the coordinator's is c0ffee/,
    );
  });

  it("the variant first: js and wasm-simd never mix, and the message says how to pick the job's", () => {
    expect(runtimeMismatch(wasm, js)).toEqual({
      field: 'kernel',
      message:
        'computes with kernel "js", this job uses "wasm-simd": one job never mixes kernel variants (their float32 results differ in the last bits); start the worker with GRADWIRE_KERNELS=wasm-simd',
    });
    expect(runtimeMismatch(js, { ...wasm, ...patch })?.field).toBe('kernel');
  });

  it('js: the same V8 and math fingerprint join (the Node.js string alone may differ)', () => {
    expect(runtimeMismatch(js, js)).toBeNull();
    expect(runtimeMismatch(js, { ...js, node: '20.20.2-distro1' })).toBeNull();
  });

  it('js: another V8 is refused, naming both V8 and Node.js versions and what to do', () => {
    const m = runtimeMismatch(js, { ...js, ...patch, math: js.math });
    expect(m?.field).toBe('v8');
    expect(m?.message).toBe(
      "runs V8 11.3.244.8-node.39 (Node 20.20.3); the coordinator runs V8 11.3.244.8-node.38 (Node 20.20.2). The js kernels call the runtime's " +
        'Math.exp, Math.log, Math.tanh and friends, whose results may differ between V8 versions, so exact results need the same Node.js on every ' +
        'machine: run Node 20.20.2 here, or the wasm-simd kernels everywhere (GRADWIRE_KERNELS=wasm-simd: they bring their own elementary ' +
        'functions and need only the same kernel build)',
    );
    // both differ: the V8 version is named (the more useful reason)
    expect(runtimeMismatch(js, { ...js, ...patch })?.field).toBe('v8');
  });

  it('js: the same V8 with another math fingerprint (another CPU or build) is refused, naming both fingerprints', () => {
    const m = runtimeMismatch(js, { ...js, math: 'ffffffffffffffff' });
    expect(m?.field).toBe('math');
    expect(m?.message).toMatch(
      /although both run V8 11\.3\.244\.8-node\.38: math fingerprint ffffffffffffffff, the coordinator's 08543ae18aa63ac0 /,
    );
  });

  it('which variants depend on the runtime: js does, wasm-simd does not; an unknown variant is treated as dependent', () => {
    expect(USES_RUNTIME_MATH).toEqual({ js: true, 'wasm-simd': false });
    const odd = { ...js, kernel: 'gpu' };
    expect(runtimeMismatch(odd, { ...odd, v8: 'other' })?.field).toBe('v8');
  });
});

describe('what a process reports', () => {
  it('the math fingerprint: 16 hex digits, the same on every call (and in this process as the coordinator computes it)', () => {
    const f = mathFingerprint();
    expect(f).toMatch(/^[0-9a-f]{16}$/);
    expect(mathFingerprint()).toBe(f);
    expect(kernelFacts('js')).toEqual({ kernel: 'js', kernelBuild: '', math: f });
  });

  it.skipIf(kernelVariant() !== 'wasm-simd')('the wasm-simd kernel build is the sha256 of kernels.wasm', () => {
    const bytes = readFileSync(join(ROOT, 'shared/kernels/build/kernels.wasm'));
    expect(kernelBuild('wasm-simd')).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(kernelBuild('js')).toBe('');
  });

  it('a hello with the new fields round-trips; an older one without them still decodes (for the protocol-version refusal)', () => {
    const hello = { type: 'hello' as const, protocol: 3, name: 'w', runtime: wasm };
    expect(decodeToCoordinator(encode(hello))).toEqual(hello);
    const old = {
      type: 'hello' as const,
      protocol: 2,
      name: 'w',
      runtime: { node: wasm.node, v8: wasm.v8, kernel: 'js' },
    };
    expect(decodeToCoordinator(encode(old))).toEqual(old);
  });
});
