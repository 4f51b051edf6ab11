export * from './eventually.js';
export * from './ports.js';
export * from './private-nats.js';
export * from './private-postgres.js';
export * from './infrastructure.js';
export * from './test-context.js';
export * from './test-agent.js';
export * from './generic-plan.js';
