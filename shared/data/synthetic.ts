// Small synthetic 2-D classification sets, deterministic from the seed: every draw comes
// from `new Rng(seed, 'data', name)`, in sample order.
//
// Common conventions:
//  - sample i has class i mod classes (classes interleave), so class sizes differ by at most
//    one: the first n mod classes classes get one more sample;
//  - `noise` is the standard deviation of an isotropic Gaussian added to each coordinate.
import { UserError } from '../errors.js';
import { Rng } from '../rng.js';
import { validateDataset, type Dataset } from './dataset.js';

function check(name: string, n: number, classes: number, noise: number): void {
  const bad = (problem: string): never => {
    throw new UserError('CONFIG_INVALID', `data (${name}): ${problem}`);
  };
  if (!Number.isInteger(classes) || classes < 2) bad(`classes must be an integer ≥ 2, got ${classes}`);
  if (!Number.isInteger(n) || n < classes)
    bad(`samples must be an integer ≥ the number of classes (${classes}), got ${n}`);
  if (!Number.isFinite(noise) || noise < 0) bad(`noise must be a finite number ≥ 0, got ${noise}`);
}

/** How many samples class c gets when n samples are dealt round-robin to k classes. */
function classCount(n: number, k: number, c: number): number {
  return Math.floor(n / k) + (c < n % k ? 1 : 0);
}

/** Fill a 2-D dataset: point(c, t) gives the noiseless point for class c at position t ∈ [0, 1]. */
function generate(
  name: string,
  n: number,
  classes: number,
  noise: number,
  seed: number,
  point: (c: number, t: number) => [number, number],
): Dataset {
  const rng = new Rng(seed, 'data', name);
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    const k = Math.floor(i / classes);
    const m = classCount(n, classes, c);
    const t = m > 1 ? k / (m - 1) : 0;
    const [px, py] = point(c, t);
    x[2 * i] = px + noise * rng.normal();
    x[2 * i + 1] = py + noise * rng.normal();
    y[i] = c;
  }
  return validateDataset({ name, n, features: 2, classes, x, y });
}

/**
 * Interleaved spiral arms (the CS231n toy set): class c's arm runs from the origin (t = 0)
 * to radius 1 (t = 1), turning 1.75π radians, the arms rotated 2π/classes apart.
 */
export function spirals(n: number, classes: number, noise: number, seed: number): Dataset {
  check('spirals', n, classes, noise);
  return generate('spirals', n, classes, noise, seed, (c, t) => {
    const angle = (2 * Math.PI * c) / classes + 1.75 * Math.PI * t;
    return [t * Math.cos(angle), t * Math.sin(angle)];
  });
}

/**
 * Two interleaving half circles (scikit-learn's make_moons): class 0 is (cos θ, sin θ),
 * class 1 is (1 - cos θ, 0.5 - sin θ), θ = πt.
 */
export function moons(n: number, noise: number, seed: number): Dataset {
  check('moons', n, 2, noise);
  return generate('moons', n, 2, noise, seed, (c, t) => {
    const th = Math.PI * t;
    return c === 0 ? [Math.cos(th), Math.sin(th)] : [1 - Math.cos(th), 0.5 - Math.sin(th)];
  });
}

/** Centre of blob c of k: on a circle of radius 2/sin(π/k), so neighbouring centres are 4 apart. */
export function blobCentre(c: number, classes: number): [number, number] {
  const r = 2 / Math.sin(Math.PI / classes);
  const a = (2 * Math.PI * c) / classes;
  return [r * Math.cos(a), r * Math.sin(a)];
}

/** Gaussian blobs with standard deviation `noise` around the fixed centres of `blobCentre`. */
export function blobs(n: number, classes: number, noise: number, seed: number): Dataset {
  check('blobs', n, classes, noise);
  return generate('blobs', n, classes, noise, seed, (c) => blobCentre(c, classes));
}
