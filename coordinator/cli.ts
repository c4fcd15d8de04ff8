// The `gradwire` command line.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { resolve } from 'node:path';
import { UserError, isUserError } from '../shared/errors.js';
import { loadRunConfig } from './config-file.js';
import { createLogger, type LogFormat } from './log.js';
import { runInProcess } from './train-inprocess.js';

const MAIN_HELP = `gradwire — data-parallel neural network training over WebSockets

Usage: gradwire <command> [options]        (in a clone: npm run gradwire -- <command> [options])

Commands:
  train      train a model (the default run: an MLP on the built-in MNIST digits)

Run 'gradwire <command> --help' for the options of a command.
Global options: --debug (show stack traces), --log-format auto|json|pretty
`;

const TRAIN_HELP = `gradwire train — train a model

Usage: gradwire train --in-process [--config run.yaml] [--out DIR]

Options:
  --in-process        train in this process, no sockets (the reference run)
  --config FILE       run config, YAML or JSON (default: the built-in default run:
                      MNIST, MLP 784-256-128-10, relu, he_normal, Adam 1e-3, batch 128, 10 epochs)
  --out DIR           where outputs go (default: runs/<run id>): summary.json, epochs.csv,
                      steps.csv, config.json, checkpoint.gwc
  --log-format F      auto (pretty on a terminal, JSON otherwise) | json | pretty
  --debug             show stack traces of errors
  -h, --help          this help

Distributed training (coordinator + workers over WebSockets) is not in this version yet:
'train' without --in-process runs in-process too.
`;

function runId(): string {
  return `run-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;
}

function parse(args: string[], options: ParseArgsConfig['options']): { values: Record<string, string | boolean | undefined> } {
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true }) as { values: Record<string, string | boolean | undefined> };
  } catch (e) {
    throw new UserError('USAGE', `${(e as Error).message.replace(/\. To specify.*$/s, '')}; see --help`);
  }
}

function train(args: string[]): number {
  const { values } = parse(args, {
    'in-process': { type: 'boolean' },
    config: { type: 'string' },
    out: { type: 'string' },
    'log-format': { type: 'string' },
    debug: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(TRAIN_HELP);
    return 0;
  }
  const format = (values['log-format'] ?? 'auto') as string;
  if (!['auto', 'json', 'pretty'].includes(format)) {
    throw new UserError('USAGE', `--log-format: "${format}" is not one of auto, json, pretty`);
  }
  const { config, baseDir } = loadRunConfig(values.config as string | undefined);
  const id = runId();
  runInProcess({
    config,
    baseDir,
    outDir: resolve((values.out as string | undefined) ?? `runs/${id}`),
    runId: id,
    log: createLogger(format as LogFormat),
    progress: process.stderr.isTTY === true,
  });
  return 0;
}

export function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(MAIN_HELP);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'train': return train(rest);
    default:
      throw new UserError('USAGE', `unknown command "${command}"; the commands are: train (see gradwire --help)`);
  }
}

const debug = process.argv.includes('--debug');
try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (isUserError(e)) {
    process.stderr.write(`gradwire: error: ${e.message}\n`);
    if (debug) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`gradwire: internal error: ${(e as Error)?.stack ?? e}\n`);
    process.exitCode = 1;
  }
}
