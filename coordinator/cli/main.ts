// The `gradwire` command line: the list of commands and the dispatch to one file per command
// (cli/<command>.ts, its help beside it), each loaded only when it runs. bin/gradwire.js starts
// `worker` and `health` without this file (they load only their own code).
import { fileURLToPath } from 'node:url';
import { UserError } from '../../shared/errors.js';
import { runCommand } from './common.js';

const MAIN_HELP = `gradwire — data-parallel neural network training over WebSockets

Usage: gradwire <command> [options]        (in a clone: npm run gradwire -- <command> [options])

Commands:
  train        train a model on this machine's compute threads (--workers N: local worker
               processes over WebSockets; --in-process: one thread), by default an MLP on
               the built-in MNIST, 10,000-digit subset
  coordinator  serve a run to workers on other machines
  worker       join a coordinator's pool and compute gradients
  sweep        a hyperparameter sweep on this machine's threads (--preset lecture: the
               lecture's exercise on MNIST, 10,000-digit subset, with a report)
  runs         list the runs and sweeps of the experiment stores
  report       write a self-contained HTML report of a past (or running) run or sweep
  predict      the classes a trained model (a run folder, run id or sweep id) predicts for
               a CSV or IDX file, streamed
  evaluate     loss, accuracy, per-class precision/recall/F1 and the confusion matrix of a
               trained model on a split of its data or a labelled file
  export       a trained model as an ONNX or safetensors file
  health       exit 0 if this container's gradwire process is alive (HEALTHCHECK, probes);
               --ready: a worker is connected and holds its job (readiness probes)

Run 'gradwire <command> --help' for the options of a command, 'gradwire --version' (-V) for
the version.
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(MAIN_HELP);
    return command ? 0 : 2;
  }
  switch (command) {
    // each command's code is loaded only when it runs
    case 'train':
      return (await import('./train.js')).train(rest);
    case 'coordinator':
      return (await import('./coordinator.js')).coordinator(rest);
    case 'worker':
      return (await import('./worker.js')).worker(rest);
    case 'sweep':
      return (await import('./sweep.js')).sweep(rest);
    case 'runs':
      return (await import('./runs.js')).runs(rest);
    case 'report':
      return (await import('./report.js')).report(rest);
    case 'predict':
      return (await import('./predict.js')).predict(rest);
    case 'evaluate':
      return (await import('./evaluate.js')).evaluate(rest);
    case 'export':
      return (await import('./export.js')).exportCommand(rest);
    case 'health':
      return (await import('./health.js')).health(rest);
    default:
      throw new UserError(
        'USAGE',
        `unknown command "${command}"; the commands are: train, coordinator, worker, sweep, runs, report, predict, evaluate, export, health (see gradwire --help)`,
      );
  }
}

/** bin/gradwire.js: `gradwire ARGS` */
export function cliMain(argv: string[]): void {
  runCommand(() => main(argv));
}

// run directly (node --import tsx coordinator/cli/main.ts ARGS)
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) cliMain(process.argv.slice(2));
