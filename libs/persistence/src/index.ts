export * from './database.js';
export * from './write-batcher.js';
export * from './row-cache.js';
export * from './retention.js';
export * from './session-lock.js';
