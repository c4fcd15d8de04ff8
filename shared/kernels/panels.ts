// The layout denseForwardSparse reads its weights in (shared/kernels/assembly/sparse.ts): Wᵀ cut
// into column panels of SPARSE_PANEL outputs, each panel's rows k contiguous, so that a panel
// (n × 32 floats, 100 KB for n = 784) stays in cache while a group of rows goes by.

/** outputs per panel (the last panel holds the rest, m mod 32) */
export const SPARSE_PANEL = 32;
/** rows whose nonzero lists the kernel keeps at once */
export const SPARSE_GROUP_ROWS = 16;
/** int32 values of denseForwardSparse's idx scratch for n inputs: a group's lists, then their values */
export const sparseScratch = (n: number): number => 2 * SPARSE_GROUP_ROWS * n;

/** W (m × n, torch.nn.Linear's layout) into `out` (m·n values): panel j0 of width
 *  w = min(32, m − j0) starts at j0·n, and W[j,k] is at j0·n + k·w + (j − j0) */
export function sparsePanels(W: Float32Array, n: number, m: number, out: Float32Array): Float32Array {
  for (let j0 = 0; j0 < m; j0 += SPARSE_PANEL) {
    const w = Math.min(SPARSE_PANEL, m - j0);
    for (let j = j0; j < j0 + w; j++) for (let k = 0; k < n; k++) out[j0 * n + k * w + (j - j0)] = W[j * n + k]!;
  }
  return out;
}
