// @orgmesh/mesh-router/testing: what other packages' tests and the bench need from this service, in process.
// Test code only (tests, test/, e2e/, bench/): eslint.config.js forbids it in production code and the
// package-boundaries check (scripts/package-boundaries.spec.ts) fails if production code imports it.
export * from '../index.js';
export * from './mesh-harness.js';
// The task store and the writes it takes, for the bench of its statements (bench/src/mesh-statements.bench.ts).
export { TaskRepository } from '../task/task.repository.js';
export { taskCreate, taskWrite } from '../task/task.changes.js';
