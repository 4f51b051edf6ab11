import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegistrySourceFile } from '@orgmesh/contracts';
import { ROOT_PATH, sortProblems, type Problem } from './problem.js';
import { REGISTRY_LAYOUT, validateRegistry, type RegistryValidation } from './registry.validator.js';

const YAML_FILE = /\.ya?ml$/;

/**
 * Reads a registry directory's YAML files (top level, agents/, profiles/) with paths relative to it.
 * Missing directories are problems; everything readable is still returned so validation can report the rest.
 */
export async function readRegistryDir(
  dir: string,
): Promise<{ found: boolean; files: RegistrySourceFile[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const files: RegistrySourceFile[] = [];
  const info = await stat(dir).catch(() => undefined);
  if (!info)
    return { found: false, files, problems: [{ file: dir, path: ROOT_PATH, reason: 'directory not found' }] };
  if (!info.isDirectory())
    return { found: false, files, problems: [{ file: dir, path: ROOT_PATH, reason: 'not a directory' }] };

  const collect = async (relative: string): Promise<boolean> => {
    const entries = await readdir(join(dir, relative), { withFileTypes: true }).catch(() => undefined);
    if (!entries) return false;
    const paths = entries
      .filter((entry) => entry.isFile() && YAML_FILE.test(entry.name))
      .map((entry) => (relative ? `${relative}/${entry.name}` : entry.name));
    const read = await Promise.all(
      paths.map(async (path) => ({ path, content: await readFile(join(dir, path), 'utf8') })),
    );
    files.push(...read);
    return true;
  };
  const subdirs = [REGISTRY_LAYOUT.agentsDir, REGISTRY_LAYOUT.profilesDir];
  const [, ...found] = await Promise.all([collect(''), ...subdirs.map(collect)]);
  subdirs.forEach((sub, i) => {
    if (!found[i]) {
      problems.push({
        file: sub,
        path: ROOT_PATH,
        reason: `directory not found: ${sub}/<id>.yaml holds one ${sub.slice(0, -1)} per file`,
      });
    }
  });
  return { found: true, files, problems };
}

/** Reads and validates a registry directory: a complete model, or every problem (never a partial model). */
export async function loadRegistryDir(
  dir: string,
): Promise<RegistryValidation & { files: RegistrySourceFile[] }> {
  const { found, files, problems } = await readRegistryDir(dir);
  if (!found) return { ok: false, problems, files };
  const result = validateRegistry(files);
  if (problems.length === 0) return { ...result, files };
  return { ok: false, problems: sortProblems([...problems, ...(result.ok ? [] : result.problems)]), files };
}
