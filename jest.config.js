import { execFileSync } from 'node:child_process';

// The integration globalSetup runs outside jest's module system (no moduleNameMapper), so it runs
// from libs/testing's transpiled output, rebuilt here on every jest start (a few ms with swc).
execFileSync(process.execPath, ['scripts/build.mjs', 'libs/testing'], { stdio: 'ignore' });

// Jest runs in native ESM mode (NestJS 12 is ESM-only): node --experimental-vm-modules.
// @swc/jest transpiles TypeScript (legacy decorators + metadata, as Nest needs); tsgo typechecks.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
      keepClassNames: true,
    },
    module: { type: 'es6' },
  },
];
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@orgmesh/migrations$': '<rootDir>/migrations/index.ts',
    '^@orgmesh/service-host/http-edge$': '<rootDir>/libs/service-host/src/http-edge/index.ts',
    // A service's test entry point (package.json exports ./testing), from its sources as in typecheck.
    '^@orgmesh/([^/]+)/testing$': '<rootDir>/services/$1/src/testing/index.ts',
    '^@orgmesh/([^/]+)$': '<rootDir>/libs/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.tools/'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '/dist/', '<rootDir>/.tools/'],
};
export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/**/*.integration-spec.ts', '<rootDir>/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/libs/testing/dist/jest-global-setup.js',
      globalTeardown: '<rootDir>/libs/testing/dist/jest-global-teardown.js',
    },
  ],
  maxWorkers: 2,
  // Native ESM under jest's vm modules keeps every test file's module graph alive in its worker; a
  // worker above this after a file is replaced, so a long run cannot exhaust one worker's heap (CI
  // saw "Jest worker ran out of memory" at the 180th file).
  workerIdleMemoryLimit: '1GB',
  // Integration tests wait on real servers (restarts included); unit tests finish in milliseconds anyway.
  testTimeout: 60000,
};
