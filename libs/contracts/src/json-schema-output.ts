import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** An output directory that holds something other than an earlier run's schemas: nothing is written. */
export class OutputDirRefused extends Error {}

/**
 * Makes `dir` ready for a new set of schema files: missing or empty, it is left as it is; holding an
 * earlier run's output (an `index.json` and only `.json` files), the files that index names and the
 * index itself are deleted, and nothing else. Anything else — another file, a subdirectory, no index
 * (`npm run contracts:schema -- .` naming the repository, say) — is refused, and nothing is deleted.
 */
export async function prepareOutputDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR')
      throw new OutputDirRefused(`${dir} is a file, not a directory`);
    throw error;
  }
  if (entries.length === 0) return;
  const foreign: string[] = [];
  for (const entry of entries) {
    if (!entry.endsWith('.json') || !(await stat(join(dir, entry))).isFile()) foreign.push(entry);
  }
  if (foreign.length > 0 || !entries.includes('index.json')) {
    const named = (foreign.length > 0 ? foreign : entries).slice(0, 3).join(', ');
    throw new OutputDirRefused(
      `${dir} holds files that are not an earlier run's schemas (${named}${entries.length > 3 ? ', …' : ''}); ` +
        'name an empty or new directory',
    );
  }
  let index: unknown;
  try {
    index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
  } catch {
    throw new OutputDirRefused(
      `${dir}/index.json is not an earlier run's index; name an empty or new directory`,
    );
  }
  const listed = Array.isArray(index)
    ? index.flatMap((row) =>
        typeof row === 'object' && row !== null && typeof (row as { file?: unknown }).file === 'string'
          ? [(row as { file: string }).file]
          : [],
      )
    : [];
  // Names only: an index that names a path elsewhere deletes nothing there.
  for (const file of listed)
    if (basename(file) === file && file.endsWith('.json')) await rm(join(dir, file), { force: true });
  await rm(join(dir, 'index.json'), { force: true });
}
