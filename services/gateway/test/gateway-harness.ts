// The harness lives in src/testing (built, so the bench can load it from dist/) and reaches other
// packages as @orgmesh/gateway/testing; this package's own tests keep importing it from here.
export * from '../src/testing/gateway-harness.js';
