export * from './config.js';
export * from './database-url.js';
export * from './exit-codes.js';
export * from './warn-once.js';
export * from './cli.js';
