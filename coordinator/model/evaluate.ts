// The numbers of `gradwire evaluate` — loss, accuracy, per-class precision/recall/F1 and the
// confusion matrix of a trained model on a labelled source — in one place: the command prints
// them, `gradwire report` shows them for the run's test split.
import { stratifiedSplit } from '../../shared/data/split.js';
import { UserError } from '../../shared/errors.js';
import {
  classificationMetrics,
  type ClassificationMetrics,
  type ConfusionMatrix,
} from '../../shared/metrics/classification.js';
import { datasetSource, type InputSource } from './input.js';
import { trainingDataset, type LoadedModel } from './model.js';
import { evalChunkRows, evaluateRows } from './predict.js';

export type SplitName = 'test' | 'val' | 'train';

export interface Evaluation extends ClassificationMetrics {
  model: string;
  data: string;
  loss: number;
  classNames: string[];
  confusion: ConfusionMatrix;
}

/** a split of the run's own data (its config's data, seed and data.split), in evaluate's chunks */
export function splitSource(m: LoadedModel, split: SplitName, cwd: string): InputSource {
  const data = m.training ?? trainingDataset(m.resolved, cwd);
  const cfg = m.resolved.checkpoint.config;
  const s = stratifiedSplit(data.y, data.classes, cfg.data.split, cfg.seed);
  const indices = split === 'test' ? s.test : split === 'val' ? s.val : s.train;
  if (indices.length === 0) throw new UserError('USAGE', `--split ${split}: the run's ${split} split is empty`);
  return datasetSource(`the ${split} split`, data, indices, evalChunkRows(m));
}

/** the model on a labelled source: every number of `gradwire evaluate` */
export async function evaluateSource(m: LoadedModel, source: InputSource): Promise<Evaluation> {
  const sums = await evaluateRows(m, labelled(m, source), evalChunkRows(m));
  if (sums.samples === 0) throw new UserError('DATA_INVALID', `${source.name}: no data rows`);
  return {
    model: m.resolved.what,
    data: source.name,
    loss: sums.lossSum / sums.samples,
    ...classificationMetrics(sums.confusion),
    classNames: m.classNames,
    confusion: sums.confusion,
  };
}

/** the source, or one sentence when it has no labels (told by its first chunk: the header) */
function labelled(m: LoadedModel, source: InputSource): InputSource {
  return {
    ...source,
    chunks: async function* () {
      for await (const c of source.chunks()) {
        if (!c.labels)
          throw new UserError(
            'USAGE',
            `${source.name}: no labels to evaluate against (${m.labelColumn === 'label' && /\.csv$/i.test(source.name) ? 'a CSV needs a "label" column' : `a CSV needs the label column "${m.labelColumn}"; an IDX file needs --labels FILE`}); gradwire predict predicts unlabelled data`,
          );
        yield c;
      }
    },
  };
}
