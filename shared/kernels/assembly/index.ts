// The wasm-simd kernel module (entry point for asc; see `npm run build:wasm`). It owns no
// memory of its own beyond its static data: every pointer argument is a byte offset into the
// imported memory, handed out by the JS bump allocator in shared/kernels/wasm.ts above heapBase().

export { denseForward, denseDx, denseGrads } from './gemm';
export {
  denseForwardSparse, denseForwardSparseBytes, countNonzero, countNonzeroBytes, sparsePanels, unitBytes,
} from './sparse';
export { formatRows } from './text';
export { activationForward, activationBackward } from './activations';
export { dropoutForward, multiply, addInto, meanGradient, sumSquares, loss, lossCorrect, update } from './ops';
export {
  bnPartialStats, bnApplyStats, bnForwardEval, bnPartialGradSums, bnApplyGradSums, bnBackwardEval, bnUpdateRunning,
} from './norms';

/** the first byte past the module's static data: JS allocations start at or above it */
export function heapBase(): usize {
  return __heap_base;
}
