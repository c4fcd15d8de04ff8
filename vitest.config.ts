// `npm test`: unit and integration suites. `npm run test:e2e` (GRADWIRE_E2E=1): the slow
// end-to-end suites, run by CI as well.
import { defineConfig } from 'vitest/config';

const e2e = process.env.GRADWIRE_E2E === '1';

export default defineConfig({
  test: {
    include: e2e ? ['test/e2e/**/*.test.ts'] : ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // gradwire compiled once into .test-dist/ for the processes the tests start
    globalSetup: ['test/global-setup.ts'],
    // a note naming the test when a fork's event loop was blocked for 20 s (test/setup/loop-watch.ts)
    setupFiles: ['test/setup/loop-watch.ts'],
    pool: 'forks',
    // two files at a time on these 2-core machines. The tests run the CLI asynchronously
    // (test/helpers/cli.ts's run): a fork whose event loop a synchronous child blocked for a
    // minute missed vitest's own worker RPC (a fixed 60 s timeout) and failed a passing run
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // the end-to-end suites time whole runs on a 2-core machine: one at a time
    fileParallelism: !e2e,
    // the unit and integration suites start many coordinators and workers side by side on a
    // 2-core machine: one compute thread each unless a test asks for threads (the suites about
    // threads pass --threads or set GRADWIRE_THREADS themselves). The end-to-end suites keep
    // the default (auto), as users get it.
    env: e2e ? {} : { GRADWIRE_THREADS: '1' },
  },
});
