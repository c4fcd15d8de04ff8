// Diagnostic (not part of `npm run bench`): runs `train --workers N` in this process with the
// coordinator's DistributedSource instrumented, and prints per step how the microbatches were
// split, each worker's computeMs and rows/ms, and the gradient blocks sent.
// Usage: tsx test/bench/probe-split.ts WORKERS BATCH MICROBATCH [EPOCHS]
import { DistributedSource } from '../../coordinator/cluster/distributed.js';

const [workers = '2', batch = '128', micro = '16', epochs = '1'] = process.argv.slice(2);
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
// biome-ignore lint/complexity/noBannedTypes: the probe calls arbitrary module exports
type Any = Record<string, Function>;
const proto = DistributedSource.prototype as unknown as Any;
const assign = proto.assign!;
const onGrads = proto.onGrads!;
const rows: string[] = [];
proto.assign = function (
  this: unknown,
  s: { step: number },
  w: { name: string; speed: number },
  first: number,
  count: number,
) {
  rows.push(`step ${s.step} assign ${w.name} mb ${first}..${first + count - 1} (${count}) speed ${w.speed.toFixed(2)}`);
  return assign.call(this, s, w, first, count);
};
proto.onGrads = function (
  this: unknown,
  s: unknown,
  task: { worker: { name: string }; count: number },
  msg: { computeMs: number; blocks: unknown[] },
) {
  rows.push(`        grads  ${task.worker.name} ${msg.blocks.length} blocks computeMs ${msg.computeMs.toFixed(1)}`);
  return onGrads.call(this, s, task, msg);
};
const { writeFileSync, mkdtempSync } = await import('node:fs');
const dir = mkdtempSync('/tmp/gw-probe-');
writeFileSync(
  `${dir}/c.json`,
  JSON.stringify({ batchSize: Number(batch), microbatch: Number(micro), epochs: Number(epochs) }),
);
process.argv = [
  process.argv[0]!,
  'cli',
  'train',
  '--workers',
  workers,
  '--config',
  `${dir}/c.json`,
  '--out',
  `${dir}/out`,
  '--log-format',
  'json',
];
const out = process.stdout.write.bind(process.stdout);
process.stdout.write = (() => true) as typeof process.stdout.write;
(await import('../../coordinator/cli/main.js')).cliMain(process.argv.slice(2));
process.on('beforeExit', () => {
  out(`${rows.join('\n')}\n`);
});
