export * from './define.js';
export * from './errors.js';
