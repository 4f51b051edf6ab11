// The registry service as a library, for in-process harnesses (benchmarks, whole-suite tests):
// `import { startRegistryApp } from '@orgmesh/registry/app'`. The package root stays the pure domain.
export { startRegistryApp, type RegistryApp, type RegistryAppOptions } from './registry.app.js';
export { loadRegistryConfig, RegistryConfigSchema, type RegistryConfig } from './registry.config.js';
