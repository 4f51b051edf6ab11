export * from './scenario.js';
export * from './suite.js';
