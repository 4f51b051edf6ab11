import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import nx from '@nx/eslint-plugin';

// A service's test entry point (services/<name>/src/testing/index.ts, package.json exports ./testing):
// its harness, app and config for other packages' tests and the bench (issue #22 item 6).
const TESTING_ENTRY = '^@orgmesh/[^/]+/testing$';
const TEST_CODE = [
  '**/*.spec.ts',
  '**/*.integration-spec.ts',
  '**/*.e2e-spec.ts',
  '**/test/**/*.ts',
  'services/*/src/testing/**/*.ts',
  'bench/**/*.ts',
  'e2e/**/*.ts',
];

/** @nx/enforce-module-boundaries options; `allow` lists imports exempt from the tag constraints. */
function moduleBoundaries(allow) {
  return {
    allow,
    enforceBuildableLibDependency: false,
    depConstraints: [
      { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib'] },
      { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
      { sourceTag: 'type:bench', onlyDependOnLibsWithTags: ['type:lib'] },
      { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib'] },
      {
        sourceTag: 'scope:contracts',
        onlyDependOnLibsWithTags: [],
        bannedExternalImports: ['@nestjs/*', 'typeorm', 'pg', '@nats-io/*', 'express', 'rxjs', 'pino', 'jose'],
      },
    ],
  };
}

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.tools/**', 'bench/results/**', '**/*.js', '**/*.mjs', '**/golden/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Services talk only over NATS: they may depend on libs, never on each other;
      // contracts stay framework-free so any NATS client can speak the wire format.
      '@nx/enforce-module-boundaries': ['error', moduleBoundaries([])],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: TESTING_ENTRY, message: "A service's testing entry point is for tests, test/, e2e/ and bench/ only." },
          ],
        },
      ],
    },
  },
  {
    // Config is parsed once with zod, in the process's config file (docs/style.md, issue #22 item 7):
    // production code gets parsed values passed in and never reads the environment itself.
    files: ['**/*.ts'],
    ignores: [
      '**/*.config.ts',
      'libs/config/**',
      'libs/testing/**',
      'scripts/**',
      'bench/**',
      'e2e/**',
      '**/test/**',
      '**/*.spec.ts',
      '**/*.integration-spec.ts',
      '**/*.e2e-spec.ts',
    ],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read the environment only in the zod config file (src/<name>.config.ts, parseConfig from @orgmesh/config) and pass the parsed value in.',
        },
      ],
    },
  },
  {
    // Readable units (issue #22 item 5): no production source file over 500 lines and no function
    // over 80 (blank and comment lines not counted; a closure counts toward its enclosing function).
    // Split along responsibilities when one grows past them.
    files: ['services/*/src/**/*.ts', 'libs/*/src/**/*.ts', 'console/src/**/*.ts', 'console/src/**/*.tsx'],
    ignores: TEST_CODE,
    rules: {
      'max-lines': ['error', { max: 500 }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.integration-spec.ts', '**/*.e2e-spec.ts', 'bench/**/*.ts', 'e2e/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Test code reaches another service only through its testing entry point: a whole-stack test
    // starts the real services in process. Any other import of a service (its root, a deep or a
    // relative path) stays an error here too.
    files: TEST_CODE,
    rules: {
      // @orgmesh/testing is every package's test library, contracts' too (which depends on no lib).
      '@nx/enforce-module-boundaries': ['error', moduleBoundaries([TESTING_ENTRY, '^@orgmesh/testing$'])],
      'no-restricted-imports': 'off',
    },
  },
);
