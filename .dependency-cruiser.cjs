// The dependency rules of DESIGN.md (Layout, Dependency rule), checked by dependency-cruiser:
// `npm run lint:deps` (part of `npm run lint`, run by .ci/run) and test/unit/dependencies.test.ts.
// Edges run one way: bin → coordinator/cli (commands) → subsystems (sweep, cluster, run, web,
// report) → store → shared (the pure core; its Node-only edge shared/node/ is used by the
// coordinator and the Node worker, never by the core). Type-only imports count (tsPreCompilationDeps).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'No import cycles, type-only ones included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-is-the-core',
      comment: 'shared/ imports nothing from coordinator/, worker/ or bin/.',
      severity: 'error',
      from: { path: '^shared/' },
      to: { path: '^(coordinator|worker|bin)/' },
    },
    {
      name: 'shared-is-pure',
      comment:
        'shared/ outside shared/node/ uses no Node I/O module: bytes come in as arguments. ' +
        'shared/node/ is the Node-only edge of shared code (logger, atomic writes, sha256, the kernels.wasm loader).',
      severity: 'error',
      from: { path: '^shared/', pathNot: '^shared/node/' },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|fs/promises|net|http|https|http2|child_process|worker_threads|cluster|dgram|tls|dns|os|crypto|readline|repl|vm)$',
      },
    },
    {
      name: 'core-not-node-edge',
      comment:
        'The pure core (shared/ outside shared/node/) never imports shared/node/: the coordinator and the ' +
        'Node worker use it, and hand the core what it reads (bytes, hashes).',
      severity: 'error',
      from: { path: '^shared/', pathNot: '^shared/node/' },
      to: { path: '^shared/node/' },
    },
    {
      name: 'coordinator-not-worker',
      comment: 'The coordinator and the worker never import each other.',
      severity: 'error',
      from: { path: '^coordinator/' },
      to: { path: '^worker/' },
    },
    {
      name: 'worker-not-coordinator',
      comment: 'The coordinator and the worker never import each other.',
      severity: 'error',
      from: { path: '^worker/' },
      to: { path: '^coordinator/' },
    },
    {
      name: 'worker-core-is-platform-neutral',
      comment:
        'worker/core/ (the worker protocol and compute) and worker/browser/ (the page and its Web Worker) run ' +
        'in a browser as well as in Node: no Node builtin, no ws, no pino, no shared/node/. The Node worker ' +
        '(worker/client.ts) and the page implement WorkerPlatform for them.',
      severity: 'error',
      from: { path: '^worker/(core|browser)/' },
      to: {
        path: ['^shared/node/', '(^|/)node_modules/(ws|pino|pino-pretty|bufferutil)/'],
      },
    },
    {
      name: 'worker-core-no-node-builtins',
      comment: 'worker/core/ and worker/browser/ import no Node builtin module (node:* or bare).',
      severity: 'error',
      from: { path: '^worker/(core|browser)/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'worker-core-stands-alone',
      comment: 'worker/core/ imports no other worker/ file: the shells import the core, never the reverse.',
      severity: 'error',
      from: { path: '^worker/core/' },
      to: { path: '^worker/', pathNot: '^worker/core/' },
    },
    {
      name: 'worker-browser-uses-only-the-core',
      comment: 'worker/browser/ imports from worker/ only the core (not the Node shell).',
      severity: 'error',
      from: { path: '^worker/browser/' },
      to: { path: '^worker/', pathNot: '^worker/(core|browser)/' },
    },
    {
      name: 'store-is-below-the-subsystems',
      comment: "store/ (SQLite, the run's output files) imports nothing above it.",
      severity: 'error',
      from: { path: '^coordinator/store/' },
      to: { path: '^coordinator/(cli|run|cluster|sweep|web|report)/' },
    },
    {
      name: 'run-is-below-cluster-and-sweep',
      comment: 'run/ (the run loop) knows nothing of who computes gradients or of sweeps, pages and reports.',
      severity: 'error',
      from: { path: '^coordinator/run/' },
      to: { path: '^coordinator/(cli|cluster|sweep|web|report)/' },
    },
    {
      name: 'reports-and-web-not-commands',
      comment: 'report/ and web/ serve the commands; they never import them.',
      severity: 'error',
      from: { path: '^coordinator/(report|web)/' },
      to: { path: '^coordinator/cli/' },
    },
    {
      name: 'only-bin-imports-the-commands',
      comment: 'Nothing outside coordinator/cli/ imports it (bin/gradwire.js loads it by path).',
      severity: 'error',
      from: { path: '^(coordinator|worker|shared)/', pathNot: '^coordinator/cli/' },
      to: { path: '^coordinator/cli/' },
    },
    {
      name: 'light-entry-points',
      comment:
        '`gradwire worker` and `gradwire health` load only what they use: no SQLite, ' +
        'prom-client, coordinator server, reports or pages anywhere in their module graph.',
      severity: 'error',
      from: { path: '^(worker/main|coordinator/cli/health)[.]ts$' },
      to: {
        reachable: true,
        path: ['better-sqlite3', 'prom-client', '^coordinator/(cluster|store|report|web|sweep|run)/'],
      },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|shared/kernels/assembly|shared/kernels/build)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.cjs', '.mjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
