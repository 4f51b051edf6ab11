export * from './principal.js';
export * from './jwt-verifier.js';
export * from './jwks-cache.js';
export * from './verifier.config.js';
export * from './test-issuer.js';
export * from './profile-signing.js';
export * from './dev-issuer.js';
export * from './client-registry.js';
