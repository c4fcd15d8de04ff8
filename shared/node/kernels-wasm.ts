// The Node loader of the wasm-simd kernels' module: reads shared/kernels/build/kernels.wasm
// (next to the kernels' sources, or for the compiled dist/ copy, the package's own
// shared/kernels/build) and its sha256, for shared/kernels/wasm.ts, which imports no Node
// module. Importing this file installs the loader; the file is read when the process makes
// its first wasm-simd instance. Each Node process that computes (the worker process, the
// coordinator's run loop, tests) imports it.
import { existsSync, readFileSync } from 'node:fs';
import { setWasmKernelsFile, type WasmKernelsFile } from '../kernels/wasm.js';
import { sha256Hex } from './hash.js';

const WASM_CANDIDATES = [
  // beside the kernels' sources (the TypeScript sources, run through tsx)
  new URL('../kernels/build/kernels.wasm', import.meta.url),
  // from the compiled copy in dist/shared/node/: the package's own shared/kernels/build
  new URL('../../../shared/kernels/build/kernels.wasm', import.meta.url),
];

/** kernels.wasm: its bytes and their sha256; throws when it has not been built */
export function readKernelsWasm(): WasmKernelsFile {
  const file = WASM_CANDIDATES.find((u) => existsSync(u));
  if (!file) {
    throw new Error(
      `wasm-simd kernels: ${WASM_CANDIDATES[0]!.pathname} is missing; build it with \`npm run build:wasm\` ` +
        '(npm ci / npm install run it too)',
    );
  }
  const bytes = readFileSync(file);
  return { bytes, sha256: sha256Hex(bytes), name: file.pathname };
}

setWasmKernelsFile(readKernelsWasm);
