import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { CALLER_KINDS, SCOPES, type ClientDefinition } from '@orgmesh/auth';
import type { CallerKind } from './caller.js';

/** The documented secret of a dev client: `<client-id>-dev-secret`. */
export function devSecretFor(clientId: string): string {
  return `${clientId}-dev-secret`;
}

const SCOPES_BY_KIND: Record<CallerKind, string[]> = {
  admin: [SCOPES.admin, SCOPES.read],
  agent: [SCOPES.agent],
  person: [SCOPES.person],
  viewer: [SCOPES.read],
};

export interface DevAgent {
  id: string;
  role: string;
}

/**
 * The demo registry directory (`deploy/registry`), found by walking up from this module and from
 * the working directory, so it resolves from `src/` under jest and from `dist/` under `npm start`.
 */
export function findDemoRegistryDir(): string | undefined {
  const starts = [dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (const start of starts) {
    let dir = resolve(start);
    for (;;) {
      const candidate = join(dir, 'deploy', 'registry', 'agents');
      if (existsSync(candidate)) return dirname(candidate);
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return undefined;
}

/** The agents (id and role) of a registry directory's `agents/*.yaml`; files without both are skipped. */
export function readRegistryAgents(registryDir: string): DevAgent[] {
  const agentsDir = join(registryDir, 'agents');
  if (!existsSync(agentsDir)) return [];
  const agents: DevAgent[] = [];
  for (const file of readdirSync(agentsDir).sort()) {
    if (!/\.ya?ml$/.test(file)) continue;
    const doc: unknown = parseYaml(readFileSync(join(agentsDir, file), 'utf8'));
    if (typeof doc !== 'object' || doc === null) continue;
    const { id, role } = doc as { id?: unknown; role?: unknown };
    if (typeof id === 'string' && typeof role === 'string') agents.push({ id, role });
  }
  return agents;
}

/** `id:role` or `id:role:admin|agent|viewer`, comma-separated (AUTH_DEV_CLIENTS). */
export function parseDevClientList(value: string): Array<{ id: string; role: string; kind: CallerKind }> {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const [id, role, kind = 'agent'] = entry.split(':').map((p) => p.trim());
      if (!id || !role || !(CALLER_KINDS as readonly string[]).includes(kind)) {
        throw new Error(
          `AUTH_DEV_CLIENTS: invalid entry "${entry}" (expected id:role or id:role:admin|agent|viewer)`,
        );
      }
      return { id, role, kind: kind as CallerKind };
    });
}

/**
 * The dev clients: `admin` (admin scope), `viewer` (read scope), one agent client per registry agent
 * (subject = agent id, role = the agent's role) and any configured extras. Each secret is
 * `<client-id>-dev-secret`; the registry stores only its hash.
 */
export function devClientDefinitions(
  agents: readonly DevAgent[],
  extra: ReturnType<typeof parseDevClientList> = [],
): ClientDefinition[] {
  const byId = new Map<string, ClientDefinition>();
  const add = (id: string, role: string, kind: CallerKind) =>
    byId.set(id, { clientId: id, secret: devSecretFor(id), subject: id, role, scopes: SCOPES_BY_KIND[kind] });
  add('admin', 'admin', 'admin');
  add('viewer', 'viewer', 'viewer');
  for (const agent of agents) add(agent.id, agent.role, 'agent');
  for (const client of extra) add(client.id, client.role, client.kind);
  return [...byId.values()];
}
