/** In-process entry points (benchmarks, e2e harnesses); services talk to it over NATS. */
export { startMeshRouterApp, type MeshRouterApp, type MeshRouterOptions } from './mesh-router.app.js';
export { loadMeshRouterConfig, MeshRouterConfigSchema, type MeshRouterConfig } from './mesh-router.config.js';
export type { PolicyPort, PolicyVerdict, EscalationTarget } from './policy/policy.port.js';
