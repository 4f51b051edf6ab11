import { DEFAULT_DATABASE_URL, redactDatabaseUrl, resolveDatabaseUrl } from '@orgmesh/config';
import { runMigrations, SERVICE_MIGRATIONS } from './index.js';
import { loadMigrateConfig } from './migrate.config.js';

const HELP = `Usage: npm run migrate [-- <service>...]

Applies pending TypeORM migrations for each service schema (default: all).
Services: ${Object.keys(SERVICE_MIGRATIONS).join(', ')}
Database: DATABASE_URL; unset, the URL a running \`npm start\` wrote to .orgmesh/database-url;
otherwise ${DEFAULT_DATABASE_URL}. The URL used and its source are printed first.`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
// The same rule as every service's DATABASE_URL (libs/config), so migrate and the services agree;
// DATABASE_URL itself is read in migrate.config.ts.
const { url, source } = resolveDatabaseUrl(loadMigrateConfig());
process.stdout.write(`database: ${redactDatabaseUrl(url)} (from ${source})\n`);
const services = args.length ? args : Object.keys(SERVICE_MIGRATIONS);
let failed = false;
for (const service of services) {
  try {
    const applied = await runMigrations({ url, service });
    process.stdout.write(`${service}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}\n`);
  } catch (error) {
    failed = true;
    process.stderr.write(`${service}: migration failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
process.exit(failed ? 1 : 0);
