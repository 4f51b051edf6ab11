// The registry's domain: pure and I/O-free apart from readRegistryDir/loadRegistryDir.
// The service wiring (NATS handlers, Postgres repository, outbox) builds on these exports.
export * from './model/registry.model.js';
export * from './model/registry.diff.js';
export * from './model/profile-assignment.js';
export { AgentFileSchema } from './model/agent.model.js';
export { ProfileFileSchema, MESH_YAML_KEYS } from './model/profile.model.js';
export { RolesFileSchema } from './model/role.model.js';
export * from './loader/problem.js';
export * from './loader/registry.validator.js';
export * from './loader/registry.reader.js';
export { patternsOverlap } from './loader/access-patterns.js';
export * from './org/org-chart.js';
export * from './org/org-chart.generator.js';
export * from './policy/policy.resolver.js';
export * from './render/render.types.js';
export * from './render/config.renderer.js';
export * from './presence/presence.js';
export { canonicalJson } from './canonical-json.js';
