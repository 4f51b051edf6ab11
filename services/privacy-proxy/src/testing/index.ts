// @orgmesh/privacy-proxy/testing: what other packages' tests and the bench need from this service, in process.
// Test code only (tests, test/, e2e/, bench/): eslint.config.js forbids it in production code and the
// package-boundaries check (scripts/package-boundaries.spec.ts) fails if production code imports it.
export * from '../index.js';
export * from './fake-upstream.js';
export * from './proxy-harness.js';
// The proxy's text-masking RPC handler, served on a test's bus without starting a proxy.
export { serveTextPrivacy } from '../text-rpc/text-privacy.rpc.js';
