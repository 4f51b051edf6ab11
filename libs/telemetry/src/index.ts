export * from './logger.js';
export * from './health-server.js';
