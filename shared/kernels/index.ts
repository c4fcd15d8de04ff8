// Choosing the kernel variant. GRADWIRE_KERNELS=auto (the default) takes wasm-simd where the
// runtime supports WebAssembly SIMD and js otherwise; js or wasm-simd force one (wasm-simd
// fails with a clear error where it cannot run). Every process of a job must run the same
// variant (the handshake checks it).
import { envVar } from '../env.js';
import { UserError } from '../errors.js';
import { JS_KERNELS } from './js.js';
import type { KernelVariant, Kernels } from './kernels.js';
import { mathFingerprint } from './runtime-math.js';
import { createWasmKernels, wasmKernelSha256 } from './wasm.js';

export type { KernelVariant, Kernels } from './kernels.js';
export const KERNEL_VARIANTS: readonly KernelVariant[] = ['js', 'wasm-simd'];

/** The variant asked for by GRADWIRE_KERNELS (or `requested`): 'auto' or a variant name. */
function requestedVariant(requested = envVar('GRADWIRE_KERNELS') ?? 'auto'): KernelVariant | 'auto' {
  if (requested === 'auto' || (KERNEL_VARIANTS as readonly string[]).includes(requested))
    return requested as KernelVariant | 'auto';
  throw new UserError('USAGE', `GRADWIRE_KERNELS is "${requested}"; allowed: auto, ${KERNEL_VARIANTS.join(', ')}`);
}

/** an instance made to learn the variant (kernelVariant), handed out by the next createKernels() */
let spare: Kernels | undefined;

/** A fresh kernel instance (its own memory) of the requested variant. */
export function createKernels(requested?: KernelVariant | 'auto'): Kernels {
  if (requested === undefined && spare) {
    const k = spare;
    spare = undefined;
    return k;
  }
  const v = requestedVariant(requested);
  if (v === 'js') return JS_KERNELS;
  const wasm = createWasmKernels();
  if (wasm) return wasm;
  if (v === 'wasm-simd')
    throw new UserError(
      'USAGE',
      'GRADWIRE_KERNELS=wasm-simd, but this runtime has no WebAssembly SIMD; use GRADWIRE_KERNELS=js (or auto)',
    );
  return JS_KERNELS;
}

let chosen: KernelVariant | undefined;

/** The variant createKernels() gives in this process (for the handshake and the outputs). */
export function kernelVariant(): KernelVariant {
  if (chosen === undefined) {
    spare = createKernels();
    chosen = spare.variant;
  }
  return chosen;
}

/** The kernel build of a variant: for wasm-simd the sha256 (hex) of the kernels.wasm bytes this
 *  process runs, which fix its results bit for bit; for js "" (no separate artifact: the js
 *  kernels are this gradwire's TypeScript and call the runtime's Math, see runtime-math.ts). */
export function kernelBuild(variant: KernelVariant = kernelVariant()): string {
  return variant === 'wasm-simd' ? wasmKernelSha256() : '';
}

/** What this process's results depend on, as the handshake reports it (hello.runtime without
 *  node and v8): the variant, its build, and the fingerprint of the runtime's elementary functions. */
export function kernelFacts(variant: KernelVariant = kernelVariant()): {
  kernel: KernelVariant;
  kernelBuild: string;
  math: string;
} {
  return { kernel: variant, kernelBuild: kernelBuild(variant), math: mathFingerprint() };
}
