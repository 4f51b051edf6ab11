import { z } from 'zod';
import { parseConfig } from '@orgmesh/config';

/**
 * The environment of `node services/registry/dist/cli.js` (the registry CLI run directly; the root
 * `orgmesh` bin hands its own environment in). The only place that process reads it: the keys the
 * commands use, parsed once. They stay plain optional strings, as the commands read them (`render`
 * endpoints, import-org's bus and admin credentials, warnOnce's ORGMESH_WARNED), so a CLI run behaves as
 * before; the defaults live where each is documented (cli.ts endpointsFrom, cli/org-importer.ts,
 * cli/gateway-client.ts).
 */
export const RegistryCliEnvSchema = z.object({
  ORGMESH_PRIVACY_PROXY_URL: z.string().optional(),
  ORGMESH_GATEWAY_URL: z.string().optional(),
  ORGMESH_MCP_COMMAND: z.string().optional(),
  ORGMESH_TOKEN: z.string().optional(),
  ORGMESH_CLIENT_ID: z.string().optional(),
  ORGMESH_CLIENT_SECRET: z.string().optional(),
  ORGMESH_WARNED: z.string().optional(),
  NATS_URL: z.string().optional(),
  NATS_NKEY_SEED_FILE: z.string().optional(),
  NATS_TLS_CA_FILE: z.string().optional(),
  NATS_SUBJECT_PREFIX: z.string().optional(),
});
export type RegistryCliEnv = z.infer<typeof RegistryCliEnvSchema>;

export function loadRegistryCliEnv(source: Record<string, string | undefined> = process.env): RegistryCliEnv {
  return parseConfig('orgmesh registry', RegistryCliEnvSchema, source);
}
