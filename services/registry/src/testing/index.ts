// @orgmesh/registry/testing: what other packages' tests and the bench need from this service, in process.
// Test code only (tests, test/, e2e/, bench/): eslint.config.js forbids it in production code and the
// package-boundaries check (scripts/package-boundaries.spec.ts) fails if production code imports it.
export * from '../index.js';
export { startRegistryApp, type RegistryApp, type RegistryAppOptions } from '../registry.app.js';
export { loadRegistryConfig, RegistryConfigSchema, type RegistryConfig } from '../registry.config.js';
export * from './registry-harness.js';
export * from './demo-registry.js';
// The registry CLI's pieces, for tests that drive it against a running stack.
export { runRegistryCli } from '../cli.js';
export { importOver } from '../cli/org-importer.js';
export { adminCredentials } from '../cli/gateway-client.js';
export { gatewayRemote } from '../cli/registry-load.js';
export { profileSigningKey } from '../service/profile-signing.key.js';
