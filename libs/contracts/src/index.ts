export * from './define.js';
export * from './errors.js';
export * from './safe-input.js';
export * from './cursor.js';
export * from './sessions/index.js';
export * from './registry/index.js';
export * from './mesh/index.js';
export * from './privacy/index.js';
