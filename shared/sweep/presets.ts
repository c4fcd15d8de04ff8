// Built-in sweeps: `gradwire sweep --preset lecture` runs this one, and its report names the
// lecture's factors. Pure data, read by the sweep scheduler and the reports.

/** The lecture's exercise: dropout × activation × initialization × batch norm in an MLP. */
export const LECTURE_PRESET = {
  run: {
    seed: 3,
    data: { name: 'mnist' },
    // 72 configurations × 3 seed runs of 3 epochs: the 95% interval of a configuration is about
    // ±1.5 points and of a factor's level mean about ±0.2, against effects of 1.5 (batch norm, early)
    // to 6 points (sigmoid); about 6 minutes with the defaults on a 2-core machine (two seed runs at
    // a time on its threads), under the 10-minute budget of the lecture
    model: { hidden: [64, 64] },
    optimizer: { name: 'adam', lr: 0.001 },
    batchSize: 128,
    microbatch: 64,
    epochs: 3,
  },
  method: 'grid',
  seeds: 3,
  metric: { name: 'valAccuracy', goal: 'maximize' },
  parameters: {
    'model.dropout': { values: [0, 0.2, 0.5] },
    'model.activation': { values: ['relu', 'sigmoid', 'tanh', 'gelu'] },
    'model.init': { values: ['lecun_normal', 'xavier_uniform', 'he_normal'] },
    'model.norm': { values: ['none', 'batch'] },
  },
};
