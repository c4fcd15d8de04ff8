// The in-memory dataset every loader produces: a dense feature matrix and integer labels.
// Pure: no fs, no clock. The loaders (coordinator/datasets.ts) and the parsers in this folder
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
  /** n × features, row-major */
  x: Float32Array;
  /** n labels in 0..classes-1 */
  y: Int32Array;
  /** optional human-readable name of each class (length = classes) */
  classNames?: string[];
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
