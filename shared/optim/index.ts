// Optimizers, learning-rate schedules and the step driver (pure: no I/O).
export { createOptimizer, SCALAR_INITS, SLOT_NAMES, type Optimizer } from './optimizers.js';
export { lrAt } from './schedule.js';
export {
  decayMode,
  globalNorm,
  loadOptimizerState,
  optimizerState,
  optimizerStep,
  type OptimizerState,
  type StepContext,
} from './driver.js';
