import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// Issue #22 item 6: packages reach each other by package name only. A test of one package that needs
// another service imports `@orgmesh/<service>/testing` (its harness, app and config), which only test
// code may import. ESLint's @nx/enforce-module-boundaries covers the Nx projects; this check also
// covers what it cannot see (deploy/, scripts/) and fails if a per-line escape of the rule comes back.

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.tools', '.git', 'golden', 'results']);

/** The workspaces of package.json; a top-level directory that is none (deploy/, scripts/) counts as one. */
function packageRoots(): string[] {
  const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  return workspaces.flatMap((pattern) =>
    pattern.endsWith('/*')
      ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => join(root, pattern.slice(0, -2), entry.name))
      : [join(root, pattern)],
  );
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name)) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(full);
    else if (/\.(ts|tsx|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield full;
  }
}

const roots = packageRoots();
function packageOf(path: string): string {
  const workspace = roots.find((dir) => path === dir || path.startsWith(dir + sep));
  return workspace ?? join(root, relative(root, path).split(sep)[0] ?? '');
}

const files = readdirSync(root, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !SKIPPED_DIRS.has(entry.name))
  .flatMap((entry) => [...sourceFiles(join(root, entry.name))])
  .map((file) => ({ file, source: readFileSync(file, 'utf8') }));

/** Module specifiers of static imports and re-exports, side-effect imports and dynamic import(). */
function specifiers(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
}

/** Test code: spec files, test/ directories, a service's src/testing, the bench and the e2e suites. */
function isTestCode(path: string): boolean {
  const rel = relative(root, path).split(sep).join('/');
  return (
    /\.(spec|integration-spec|e2e-spec)\.tsx?$/.test(rel) ||
    /(^|\/)test\//.test(rel) ||
    /^services\/[^/]+\/src\/testing\//.test(rel) ||
    /^(bench|e2e)\//.test(rel)
  );
}

describe('package boundaries', () => {
  it('scans the repository (a check that reads nothing cannot fail)', () => {
    expect(files.length).toBeGreaterThan(500);
    expect(isTestCode(join(root, 'services/gateway/test/gateway-harness.ts'))).toBe(true);
    expect(isTestCode(join(root, 'services/gateway/src/testing/index.ts'))).toBe(true);
    expect(isTestCode(join(root, 'services/gateway/src/gateway.app.spec.ts'))).toBe(true);
    expect(isTestCode(join(root, 'services/gateway/src/gateway.app.ts'))).toBe(false);
    expect(isTestCode(join(root, 'libs/testing/src/test-context.ts'))).toBe(false);
  });

  it('no relative import leaves its package (import the other package by name)', () => {
    const crossing = files.flatMap(({ file, source }) =>
      specifiers(source)
        .filter((spec) => spec.startsWith('./') || spec.startsWith('../'))
        .filter((spec) => packageOf(resolve(dirname(file), spec)) !== packageOf(file))
        .map((spec) => `${relative(root, file)}: ${spec}`),
    );
    expect(crossing).toEqual([]);
  });

  it('only test code imports a testing entry point (@orgmesh/<service>/testing)', () => {
    const offenders = files
      .filter(({ file }) => !isTestCode(file))
      .flatMap(({ file, source }) =>
        specifiers(source)
          .filter((spec) => /^@orgmesh\/[^/]+\/testing$/.test(spec))
          .map((spec) => `${relative(root, file)}: ${spec}`),
      );
    expect(offenders).toEqual([]);
  });

  it('every testing entry point the imports name exists', () => {
    const named = new Set(
      files.flatMap(({ source }) => specifiers(source).filter((spec) => /^@orgmesh\/[^/]+\/testing$/.test(spec))),
    );
    expect(named.size).toBeGreaterThan(0);
    for (const spec of named) {
      const service = spec.split('/')[1] ?? '';
      expect(statSync(join(root, 'services', service, 'src/testing/index.ts')).isFile()).toBe(true);
    }
  });

  it('no file escapes the module-boundaries lint rule', () => {
    const escapes = files
      .filter(({ source }) => /eslint-disable[^\n]*@nx\/enforce-module-boundaries/.test(source))
      .map(({ file }) => relative(root, file));
    expect(escapes).toEqual([]);
  });
});
