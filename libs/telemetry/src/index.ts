export * from './logger.js';
export * from './health-server.js';
export * from './tracing.js';
export * from './http-tracing.js';
export * from './run-service.js';
export * from './job-timers.js';
export * from './error-fields.js';
export * from './client-error.js';
