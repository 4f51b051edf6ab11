export * from './config.js';
export * from './exit-codes.js';
export * from './warn-once.js';
