// Preloaded into a test's worker process (NODE_OPTIONS=--import=<this file>): the process then
// reports another Node.js release — process.versions.node and .v8 from TEST_FAKE_NODE and
// TEST_FAKE_V8 — as a worker on another patch release would. Everything else (its kernels, its
// elementary functions) is this machine's: what such a worker really differs in for the handshake.
const node = process.env.TEST_FAKE_NODE;
const v8 = process.env.TEST_FAKE_V8;
Object.defineProperty(process, 'versions', {
  value: Object.freeze({ ...process.versions, ...(node ? { node } : {}), ...(v8 ? { v8 } : {}) }),
  enumerable: true,
  configurable: true,
});
