// Seeded random streams. Every random draw in gradwire comes from here: no Math.random.
//
// Two kinds:
//  - `Rng`: a sequential stream (seedrandom's xor4096) for initialization, permutations,
//    splits and synthetic data. A stream is named by (seed, ...keys) so that independent uses
//    never share draws and each is reproducible on its own.
//  - `hashUniform`: a counter-based draw, a pure function of its integer arguments, for
//    dropout masks (invariant I3): any worker computes the same value for the same
//    (seed, step, layer, sample, unit) without replaying a stream. Integer-only arithmetic,
//    so it is identical on every JavaScript engine.
import seedrandom from 'seedrandom';

export class Rng {
  private readonly next: () => number;
  private spare: number | null = null;

  constructor(seed: number, ...keys: Array<number | string>) {
    this.next = seedrandom.xor4096(['gradwire', seed, ...keys].join('/'));
  }

  /** uniform in [0, 1) with 53 bits */
  uniform(): number {
    return this.next();
  }

  /** uniform in [lo, hi) */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** standard normal (Box–Muller, using both values) */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }
}

// murmur3's 32-bit finalizer: a bijective avalanche mix.
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Mix a key into a running 32-bit hash state (murmur3 block step). */
function mix(h: number, k: number): number {
  k = Math.imul(k | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Precompute the hash state for the (seed, step, layer, sample) prefix of a dropout draw. */
export function hashPrefix(seed: number, step: number, layer: number, sample: number): number {
  let h = mix(0x9e3779b9, seed);
  h = mix(h, step);
  h = mix(h, Math.floor(step / 0x100000000));
  h = mix(h, layer);
  return mix(h, sample);
}

/** Uniform in [0, 1) (24 bits) for one unit, from a prefix made by `hashPrefix`. */
export function hashUniformFrom(prefix: number, unit: number): number {
  return (fmix32(mix(prefix, unit) ^ 20) >>> 8) / 16777216;
}

/** Uniform in [0, 1): a pure function of (seed, step, layer, sample, unit). */
export function hashUniform(seed: number, step: number, layer: number, sample: number, unit: number): number {
  return hashUniformFrom(hashPrefix(seed, step, layer, sample), unit);
}
