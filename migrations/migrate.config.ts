import { z } from 'zod';
import { env, parseConfig } from '@orgmesh/config';

/**
 * The only place `npm run migrate` (and the k8s migrate Job, which runs migrations/dist/cli.js) reads
 * its environment: DATABASE_URL, parsed once. Unset or blank, resolveDatabaseUrl falls back to the
 * URL a running `npm start` wrote, then the 5432 default, and says which rule chose it; so the URL
 * itself is resolved there, not defaulted here.
 */
export const MigrateConfigSchema = z.object({
  DATABASE_URL: env.optionalString(),
});
export type MigrateConfig = z.infer<typeof MigrateConfigSchema>;

export function loadMigrateConfig(source: Record<string, string | undefined> = process.env): MigrateConfig {
  return parseConfig('migrate', MigrateConfigSchema, source);
}
