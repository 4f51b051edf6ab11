export * from './database.js';
export * from './write-batcher.js';
