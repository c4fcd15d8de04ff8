// `gradwire export --model RUN --format onnx|safetensors`: a trained model as a file other
// tools read (shared/export's converters).
import { join, resolve } from 'node:path';
import { UserError } from '../../shared/errors.js';
import { type ExportFormat, writeExport } from '../model/export.js';
import { loadModel } from '../model/model.js';
import { resolveModel } from '../model/resolve.js';
import { many, modelFlag, parse } from './common.js';
import { checkOutFile, fsReason } from './paths.js';

const EXPORT_HELP = `gradwire export — a trained model as an ONNX or safetensors file

Usage: gradwire export --model RUN --format onnx|safetensors [--out FILE]

RUN is a run's folder, a run id or the beginning of one, or a sweep id (its best trial), as
'gradwire runs --all' lists them. ONNX (opset 17): input "features" (N × features, the rows
as gradwire predict reads them: CSV cells as written, IDX pixels ÷ 255), outputs
"probabilities" and "logits" (N × classes); safetensors: the weights under PyTorch
nn.Sequential names (shared/export/README.md has the PyTorch code that loads them). Every
finished train and coordinator run also writes model.onnx into its folder (--no-export skips
it), a sweep into its folder for its best trial.

Options:
  --model RUN            the trained model (required)
  --format F             onnx | safetensors (required)
  --out FILE             where to write it (default: the run's folder, model.onnx or
                         model.safetensors), atomically, its folder made if missing;
                         prints the path
  --store FILE           look RUN up in this store (repeat for several) instead of the
                         default ones
  -h, --help             this help
`;

export function exportCommand(args: string[]): number {
  const v = parse(args, {
    model: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    store: { type: 'string', multiple: true },
  });
  if (v.help) {
    process.stdout.write(EXPORT_HELP);
    return 0;
  }
  const cwd = process.cwd();
  const model = modelFlag(v);
  const format = v.format as string | undefined;
  if (format !== 'onnx' && format !== 'safetensors')
    throw new UserError(
      'USAGE',
      `--format: ${format === undefined ? 'required' : `"${format}" is not one of onnx, safetensors`}`,
    );
  const todo = 'give the path of a file in a folder you may write in';
  if (typeof v.out === 'string') checkOutFile('--out', resolve(cwd, v.out), todo);
  const m = loadModel(resolveModel(model, { cwd, env: process.env, stores: many(v, 'store') }), cwd);
  const out = typeof v.out === 'string' ? resolve(cwd, v.out) : join(m.resolved.dir, `model.${format}`);
  const { config, state } = m.resolved.checkpoint;
  try {
    writeExport(out, format as ExportFormat, config, state, m);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code) throw e;
    throw new UserError('USAGE', `--out ${out}: cannot write it (${fsReason(code)}); ${todo}`);
  }
  process.stdout.write(`${out}\n`);
  return 0;
}
