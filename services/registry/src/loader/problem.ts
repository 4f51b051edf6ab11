import type { RegistryProblem } from '@orgmesh/contracts';

export type Problem = RegistryProblem;

/** The path shown for a problem that concerns a whole file or directory. */
export const ROOT_PATH = '(root)';

/** `delegates_to[0]`, `privacy.entities.ssn`; `(root)` for the whole document. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out || ROOT_PATH;
}

/**
 * One line per problem: `file: path.inside.file: reason (line L, column C)`. The position is appended
 * for YAML documents; CSV problems carry their line in the path already (`line 12.email`).
 */
export function formatProblem(problem: Problem): string {
  const where = problem.line && problem.column ? ` (line ${problem.line}, column ${problem.column})` : '';
  return `${problem.file}: ${problem.path}: ${problem.reason}${where}`;
}

/** Stable order for output and tests: by file, then position, then path and reason. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  return [...problems].sort(
    (a, b) =>
      compare(a.file, b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      compare(a.path, b.path) ||
      compare(a.reason, b.reason),
  );
}

/** Code-point comparison: unlike localeCompare it is the same on every machine. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
