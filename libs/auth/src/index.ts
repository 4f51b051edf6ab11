export * from './principal.js';
export * from './jwt-verifier.js';
export * from './test-issuer.js';
export * from './profile-signing.js';
