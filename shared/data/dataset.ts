// The in-memory dataset every loader produces: a dense feature matrix and integer labels.
// Pure: no fs, no clock. The loaders (coordinator/run/datasets.ts) and the parsers in this folder
// build one and pass it through `validateDataset` before anyone trains on it.
import { UserError } from '../errors.js';

export interface Dataset {
  /** shown in logs and the run summary */
  name: string;
  /** number of samples */
  n: number;
  /** features per sample */
  features: number;
  /** number of classes; labels are 0..classes-1 */
  classes: number;
  /** n × features, row-major (empty when xLevels holds the features) */
  x: Float32Array;
  /** the features as 8-bit indices into xTable (a dataset with at most 256 distinct feature
   *  values, such as MNIST's pixels): a quarter of the memory. Set by the dataset blob's
   *  decoder; read rows with rowInto. */
  xLevels?: Uint8Array;
  /** the distinct feature values xLevels index (256 float32) */
  xTable?: Float32Array;
  /** n labels in 0..classes-1 */
  y: Int32Array;
  /** optional human-readable name of each class (length = classes) */
  classNames?: string[];
}

/** Copy sample s's features into out at offset o. */
export function rowInto(d: Dataset, s: number, out: Float32Array, o: number): void {
  const F = d.features;
  if (d.xLevels && d.xTable) {
    const lv = d.xLevels;
    const table = d.xTable;
    for (let f = 0, i = s * F; f < F; f++, i++) out[o + f] = table[lv[i]!]!;
  } else {
    out.set(d.x.subarray(s * F, (s + 1) * F), o);
  }
}

function isPositiveInt(v: number): boolean {
  return Number.isInteger(v) && v > 0;
}

/** Check the invariants of a Dataset; throws UserError('DATA_INVALID') naming the first problem. */
export function validateDataset(d: Dataset): Dataset {
  const bad = (problem: string): never => {
    throw new UserError('DATA_INVALID', `dataset ${d.name}: ${problem}`);
  };
  if (!isPositiveInt(d.n)) bad(`sample count must be a positive integer, got ${d.n}`);
  if (!isPositiveInt(d.features)) bad(`feature count must be a positive integer, got ${d.features}`);
  if (!isPositiveInt(d.classes)) bad(`class count must be a positive integer, got ${d.classes}`);
  if (d.x.length !== d.n * d.features) {
    bad(`x has ${d.x.length} values, expected ${d.n}×${d.features} = ${d.n * d.features}`);
  }
  if (d.y.length !== d.n) bad(`y has ${d.y.length} labels, expected ${d.n}`);
  for (let i = 0; i < d.x.length; i++) {
    if (!Number.isFinite(d.x[i]!)) {
      bad(`sample ${Math.floor(i / d.features)}, feature ${i % d.features} is not finite (${d.x[i]})`);
    }
  }
  for (let i = 0; i < d.n; i++) {
    const c = d.y[i]!;
    if (c < 0 || c >= d.classes) bad(`sample ${i} has label ${c}, outside 0..${d.classes - 1}`);
  }
  if (d.classNames !== undefined && d.classNames.length !== d.classes) {
    bad(`${d.classNames.length} class names for ${d.classes} classes`);
  }
  return d;
}
