// Reading a run config from disk (the parsing and validation are in shared/config.ts).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_RUN_CONFIG, parseConfigText } from '../../shared/config.js';
import type { RunConfig } from '../../shared/config-types.js';
import { UserError } from '../../shared/errors.js';

export interface LoadedConfig {
  config: RunConfig;
  /** relative data paths in the config are resolved against this folder */
  baseDir: string;
  source: string;
}

export function loadRunConfig(path: string | undefined): LoadedConfig {
  if (!path) return { config: DEFAULT_RUN_CONFIG, baseDir: process.cwd(), source: '(default run)' };
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError('USAGE', `--config: cannot read ${abs}${code === 'ENOENT' ? ': no such file' : `: ${code}`}`);
  }
  return { config: parseConfigText(text, path), baseDir: dirname(abs), source: abs };
}
