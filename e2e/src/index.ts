export * from './scenario.js';
export * from './suite.js';
export * from './oidc.js';
