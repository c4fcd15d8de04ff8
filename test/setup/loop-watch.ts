// A note on stderr when this test process's event loop was blocked for 20 s or more, naming the
// test: vitest's own worker RPC has a fixed 60 s timeout, so a test that blocks its fork for a
// minute (a synchronous child process, a long synchronous computation) fails a passing run
// with "Timeout calling onTaskUpdate". The note says where to look before that happens.
import { expect } from 'vitest';

let last = Date.now();
const timer = setInterval(() => {
  const now = Date.now();
  if (now - last >= 20_000) {
    const { testPath, currentTestName } = expect.getState();
    process.stderr.write(
      `loop-watch: the event loop was blocked ${now - last} ms, in ${testPath} > ${currentTestName}\n`,
    );
  }
  last = now;
}, 1000);
timer.unref();
