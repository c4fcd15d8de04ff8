// Reductions in a fixed order that depends only on microbatch indices (invariant I1).
//
// The order is a binary tree over indices 0..n-1 built from aligned blocks of power-of-two
// size: reduce([lo, lo+2s)) = combine(reduce([lo, lo+s)), reduce([lo+s, lo+2s))), with
// absent leaves omitted. A worker that owns a whole aligned block may pre-reduce it; the
// result is bit-identical to reducing the leaves here. `treeReduce` evaluates exactly that
// tree with a binary-counter stack.

import { JS_KERNELS } from '../kernels/js.js';
import type { Kernels } from '../kernels/kernels.js';

export interface Block<T> {
  /** first microbatch index covered */
  start: number;
  /** number of microbatch indices covered: a power of two, start % size === 0 */
  size: number;
  value: T;
}

/** Reduce a sequence of leaves (or aligned blocks in index order covering 0..n-1). */
export function treeReduce<T>(
  items: ReadonlyArray<T | Block<T>>,
  combine: (left: T, right: T) => T,
  blocks = false,
): T {
  const stack: Array<{ value: T; size: number }> = [];
  for (const item of items) {
    let node = blocks
      ? { value: (item as Block<T>).value, size: (item as Block<T>).size }
      : { value: item as T, size: 1 };
    while (stack.length > 0 && stack[stack.length - 1]!.size === node.size) {
      const left = stack.pop()!;
      node = { value: combine(left.value, node.value), size: node.size * 2 };
    }
    stack.push(node);
  }
  if (stack.length === 0) throw new Error('treeReduce of nothing');
  let acc = stack.pop()!.value;
  while (stack.length > 0) acc = combine(stack.pop()!.value, acc);
  return acc;
}

/** The maximal aligned blocks that tile [start, end): what a worker owning that contiguous
 *  run of microbatches may pre-reduce. */
export function alignedBlocks(start: number, end: number): Array<{ start: number; size: number }> {
  const out: Array<{ start: number; size: number }> = [];
  let i = start;
  while (i < end) {
    let size = 1;
    while (i % (size * 2) === 0 && i + size * 2 <= end) size *= 2;
    out.push({ start: i, size });
    i += size;
  }
  return out;
}

/** left += right, elementwise in float32, on any arrays (the js kernels); returns left */
export const addInto = addIntoWith(JS_KERNELS);

/** left += right in the given kernels (bit-identical to addInto); both must be theirs */
export function addIntoWith(k: Kernels): (left: Float32Array, right: Float32Array) => Float32Array {
  return (left, right) => {
    k.addInto(left, right, left.length);
    return left;
  };
}
