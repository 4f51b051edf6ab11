import { runMigrations, SERVICE_MIGRATIONS } from './index.js';

const HELP = `Usage: npm run migrate [-- <service>...]

Applies pending TypeORM migrations for each service schema (default: all).
Services: ${Object.keys(SERVICE_MIGRATIONS).join(', ')}
Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/orgmesh)`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const url = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/orgmesh';
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
