// The handshake's compatibility rule: may a worker with this runtime and kernel build join a
// job computed with the coordinator's, so that its results cannot differ (invariant I1)?
import { USES_RUNTIME_MATH } from './kernels/runtime-math.js';
import type { RuntimeInfo } from './protocol-messages.js';

/** Why a worker cannot join a job computed with `coordinator`'s kernels, or null when its results
 *  cannot differ. The rule (shared/kernels/runtime-math.ts has the audit behind it):
 *  1. the kernel variant must match (variants differ in the last bits);
 *  2. the kernel build must match (for wasm-simd: the sha256 of kernels.wasm, which fixes its
 *     results whatever the runtime);
 *  3. only for a variant that calls the runtime's elementary functions (js): the V8 version and
 *     the math fingerprint must match.
 *  So a worker on another Node.js release joins a wasm-simd job with the same kernel build. */
export function runtimeMismatch(
  coordinator: RuntimeInfo,
  worker: RuntimeInfo,
): { field: 'kernel' | 'kernelBuild' | 'v8' | 'math'; message: string } | null {
  const c = coordinator,
    w = worker;
  const shown = (v: string | undefined): string => (v === undefined ? '(not reported)' : v === '' ? '(none)' : v);
  if (w.kernel !== c.kernel) {
    return {
      field: 'kernel',
      message: `computes with kernel "${w.kernel}", this job uses "${c.kernel}": one job never mixes kernel variants (their float32 results differ in the last bits); start the worker with GRADWIRE_KERNELS=${c.kernel}`,
    };
  }
  if (w.kernelBuild !== c.kernelBuild) {
    return {
      field: 'kernelBuild',
      message:
        `runs another build of the ${c.kernel} kernels: kernel build ${shown(w.kernelBuild)}, the coordinator's is ${shown(c.kernelBuild)} ` +
        '(sha256 of shared/kernels/build/kernels.wasm); another build can give other bits, so exact results need the same one: run the same ' +
        'gradwire version on both sides, with kernels built by the same AssemblyScript (npm ci, or the same container image), and compare with ' +
        'sha256sum shared/kernels/build/kernels.wasm',
    };
  }
  const usesRuntime = (USES_RUNTIME_MATH as Record<string, boolean | undefined>)[c.kernel] ?? true;
  if (!usesRuntime) return null;
  if (w.v8 !== c.v8) {
    return {
      field: 'v8',
      message:
        `runs V8 ${w.v8} (Node ${w.node}); the coordinator runs V8 ${c.v8} (Node ${c.node}). The ${c.kernel} kernels call the runtime's ` +
        'Math.exp, Math.log, Math.tanh and friends, whose results may differ between V8 versions, so exact results need the same Node.js on ' +
        `every machine: run Node ${c.node} here, or the wasm-simd kernels everywhere (GRADWIRE_KERNELS=wasm-simd: they bring their own ` +
        'elementary functions and need only the same kernel build)',
    };
  }
  if (w.math !== c.math) {
    return {
      field: 'math',
      message:
        `its elementary functions (Math.exp, Math.log, Math.tanh, ...) give other results than the coordinator's, although both run V8 ${c.v8}: ` +
        `math fingerprint ${shown(w.math)}, the coordinator's ${shown(c.math)} (another CPU architecture or build of Node.js?). The ${c.kernel} kernels ` +
        'call them, so exact results need identical ones: run the workers on the same platform and Node.js build as the coordinator, or the ' +
        'wasm-simd kernels everywhere (GRADWIRE_KERNELS=wasm-simd)',
    };
  }
  return null;
}
