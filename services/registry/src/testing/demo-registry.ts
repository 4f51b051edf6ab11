import { fileURLToPath } from 'node:url';
import type { RegistrySourceFile } from '@orgmesh/contracts';
import { readRegistryDir } from '../loader/registry.reader.js';
import { formatProblem } from '../loader/problem.js';
import { validateRegistry } from '../loader/registry.validator.js';
import type { RegistryModel } from '../model/registry.model.js';

/** The demo registry the suite runs with; tests validate it as is and derive broken variants from it. */
export const DEMO_REGISTRY_DIR = fileURLToPath(new URL('../../../../deploy/registry', import.meta.url));
export const DEMO_ORG_CHART = `${DEMO_REGISTRY_DIR}/org-chart.csv`;

export async function demoFiles(): Promise<RegistrySourceFile[]> {
  const { files, problems } = await readRegistryDir(DEMO_REGISTRY_DIR);
  if (problems.length > 0)
    throw new Error(`demo registry unreadable: ${problems.map(formatProblem).join('; ')}`);
  return files;
}

export async function demoModel(): Promise<RegistryModel> {
  const result = validateRegistry(await demoFiles());
  if (!result.ok) throw new Error(`demo registry invalid:\n${result.problems.map(formatProblem).join('\n')}`);
  return result.model;
}

/** The files with one replaced (or added); `undefined` removes it. */
export function withFile(
  files: readonly RegistrySourceFile[],
  path: string,
  content: string | undefined,
): RegistrySourceFile[] {
  const rest = files.filter((f) => f.path !== path);
  return content === undefined ? rest : [...rest, { path, content }];
}

/** The files with one edited by text replacement; fails loudly if the text is not there (a test that cannot fail is a defect). */
export function editFile(
  files: readonly RegistrySourceFile[],
  path: string,
  from: string | RegExp,
  to: string,
): RegistrySourceFile[] {
  const file = files.find((f) => f.path === path);
  if (!file) throw new Error(`no file ${path}`);
  const content = file.content.replace(from, to);
  if (content === file.content) throw new Error(`${path}: "${String(from)}" not found`);
  return withFile(files, path, content);
}

/** Validates and returns the formatted problem lines (empty when valid). */
export function problemLines(files: readonly RegistrySourceFile[]): string[] {
  const result = validateRegistry(files);
  return result.ok ? [] : result.problems.map(formatProblem);
}
