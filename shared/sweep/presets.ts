// Built-in sweeps: `gradwire sweep --preset lecture` runs this one, and its report names the
// lecture's factors. Pure data, read by the sweep scheduler and the reports.

/** The lecture's exercise: dropout × activation × initialization × batch norm in an MLP. */
export const LECTURE_PRESET = {
  run: {
    seed: 3,
    data: { name: 'mnist' },
    // sized so the 72 trials take under a minute on a 2-core machine (two at a time on its threads)
    model: { hidden: [64, 64] },
    optimizer: { name: 'adam', lr: 0.001 },
    batchSize: 128,
    microbatch: 64,
    epochs: 2,
  },
  method: 'grid',
  metric: { name: 'valAccuracy', goal: 'maximize' },
  parameters: {
    'model.dropout': { values: [0, 0.2, 0.5] },
    'model.activation': { values: ['relu', 'sigmoid', 'tanh', 'gelu'] },
    'model.init': { values: ['lecun_normal', 'xavier_uniform', 'he_normal'] },
    'model.norm': { values: ['none', 'batch'] },
  },
};
