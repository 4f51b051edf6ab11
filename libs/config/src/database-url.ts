import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The documented default: a local Postgres on its standard port (issue 20 item 5). */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/orgmesh';

/**
 * Where `npm start` writes the URL of the database it runs (its embedded Postgres on 5499, or the
 * DATABASE_URL it was given), relative to the repository root; it removes the file when it stops.
 */
export const DATABASE_URL_FILE = join('.orgmesh', 'database-url');

/** Which rule chose the URL: printed at start so nobody has to guess which database a process uses. */
export type DatabaseUrlSource = 'DATABASE_URL' | '.orgmesh/database-url' | 'default';

/** libs/config/{src,dist}/ → the repository root, the directory `npm start` keeps `.orgmesh` in. */
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The one rule for the database URL of every service and `npm run migrate`:
 * 1. DATABASE_URL when set (not blank);
 * 2. otherwise the URL `npm start` wrote to `<repo>/.orgmesh/database-url`, when that file exists, so
 *    `npm run migrate` or a service started by hand beside a running `npm start` use its database;
 * 3. otherwise DEFAULT_DATABASE_URL.
 * The file is read as-is; the caller's schema validates it like an environment value.
 */
export function resolveDatabaseUrl(
  vars: Record<string, string | undefined> = process.env,
  root: string = REPO_ROOT,
): { url: string; source: DatabaseUrlSource } {
  const fromEnv = vars['DATABASE_URL']?.trim();
  if (fromEnv) return { url: fromEnv, source: 'DATABASE_URL' };
  return databaseUrlWithoutEnv(root);
}

/** Steps 2 and 3 of resolveDatabaseUrl: the default a schema gives an unset DATABASE_URL. */
export function databaseUrlWithoutEnv(root: string = REPO_ROOT): { url: string; source: DatabaseUrlSource } {
  let written: string | undefined;
  try {
    written = readFileSync(join(root, DATABASE_URL_FILE), 'utf8').trim();
  } catch (error) {
    // Absent (npm start is not running, or never ran here) is the ordinary case; anything else is not.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (written) return { url: written, source: '.orgmesh/database-url' };
  return { url: DEFAULT_DATABASE_URL, source: 'default' };
}

/** The URL with its password replaced by `***`, for logs and start-up lines. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}
