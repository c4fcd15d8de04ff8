// Weight initializers (PyTorch conventions; the lecture's "Var(W) = √(1/n)" is the standard
// deviation, see DESIGN.md errata). fanIn = inputs of the layer, fanOut = its outputs.
//   lecun_normal   N(0, 1/fanIn)              lecun_uniform  U(±√(3/fanIn))
//   xavier_normal  N(0, 2/(fanIn+fanOut))     xavier_uniform U(±√(6/(fanIn+fanOut)))
//   he_normal      N(0, 2/fanIn)              he_uniform     U(±√(6/fanIn))
//   zeros          0 (shows the symmetry problem: every unit of a layer learns the same)
import type { InitName } from '../config-types.js';
import type { Rng } from '../rng.js';

export interface InitSpec {
  distribution: 'normal' | 'uniform' | 'zeros';
  /** normal: the standard deviation; uniform: the bound a of U(-a, a) */
  scale: number;
}

export function initSpec(name: InitName, fanIn: number, fanOut: number): InitSpec {
  switch (name) {
    case 'lecun_normal':
      return { distribution: 'normal', scale: Math.sqrt(1 / fanIn) };
    case 'lecun_uniform':
      return { distribution: 'uniform', scale: Math.sqrt(3 / fanIn) };
    case 'xavier_normal':
      return { distribution: 'normal', scale: Math.sqrt(2 / (fanIn + fanOut)) };
    case 'xavier_uniform':
      return { distribution: 'uniform', scale: Math.sqrt(6 / (fanIn + fanOut)) };
    case 'he_normal':
      return { distribution: 'normal', scale: Math.sqrt(2 / fanIn) };
    case 'he_uniform':
      return { distribution: 'uniform', scale: Math.sqrt(6 / fanIn) };
    case 'zeros':
      return { distribution: 'zeros', scale: 0 };
  }
}

/** Fill `w` with draws from the initializer for a layer with the given fans. */
export function initialize(w: Float32Array, name: InitName, fanIn: number, fanOut: number, rng: Rng): void {
  const { distribution, scale } = initSpec(name, fanIn, fanOut);
  for (let i = 0; i < w.length; i++) {
    w[i] = distribution === 'normal' ? scale * rng.normal() : distribution === 'uniform' ? rng.range(-scale, scale) : 0;
  }
}
