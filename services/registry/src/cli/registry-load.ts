import { AppError, type RegistryAgent, type RegistrySourceFile, type RoleProfile } from '@orgmesh/contracts';
import type { RegistryModel } from '../model/registry.model.js';
import { GatewayProblem, gatewayFetch, type AdminCredentials } from './gateway-client.js';
import type { HeldRegistry } from './registry-diff.js';

/** The registry service's answer to a load (rpc.registry.v1.load through `PUT /v1/registry`). */
export interface LoadAnswer {
  readonly version: number;
  readonly digest: string;
  readonly changed: boolean;
  readonly roles: number;
  readonly agents: number;
  readonly profiles: number;
}

/** How `orgmesh registry load` reaches the registry service; the gateway in production, injectable in tests. */
export interface RegistryRemote {
  /** Where it loads into, for the preview's first line. */
  readonly target: string;
  held(next: RegistryModel): Promise<HeldRegistry>;
  load(files: readonly RegistrySourceFile[]): Promise<LoadAnswer>;
}

type Fetch = typeof gatewayFetch;

/**
 * The registry behind the gateway, as an admin: agents from `GET /v1/agents` (every page), profiles
 * from `GET /v1/profiles/{id}` and each role's default from `GET /v1/profiles?role=`, loads with
 * `PUT /v1/registry`. The gateway has no listing of profiles or roles, so a held profile that is no
 * role's default, no held agent's profile and not in the new directory is not seen as removed.
 */
export function gatewayRemote(
  credentials: AdminCredentials,
  fetchJson: Fetch = gatewayFetch,
): RegistryRemote {
  const { gatewayUrl, authorization } = credentials;
  const get = <T>(path: string) => fetchJson<T>(gatewayUrl, 'GET', path, { authorization });
  return {
    target: `the registry behind ${gatewayUrl}`,
    async held(next) {
      const agents: RegistryAgent[] = [];
      let version: number | null = null;
      let cursor: string | null = null;
      do {
        let page: { items: Array<{ agent: RegistryAgent }>; nextCursor: string | null; version: number };
        try {
          page = await get(`/v1/agents?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        } catch (error) {
          // A registry service that has never loaded a version answers 503 with this detail: it holds nothing.
          if (error instanceof GatewayProblem && /no registry version/.test(error.message))
            return { version: null, agents: [], profiles: [] };
          throw error;
        }
        agents.push(...page.items.map((item) => item.agent));
        version = page.version;
        cursor = page.nextCursor;
      } while (cursor);

      const profiles = new Map<string, RoleProfile>();
      const profileOrNothing = async (path: string) => {
        try {
          const answer = await get<{ profile: RoleProfile }>(path);
          profiles.set(answer.profile.id, answer.profile);
        } catch (error) {
          if (!(error instanceof GatewayProblem && error.status === 404)) throw error;
        }
      };
      const ids = new Set([
        ...next.profiles.map((p) => p.id),
        ...agents.flatMap((a) => (a.profile ? [a.profile] : [])),
      ]);
      const roles = new Set([...next.roles.map((r) => r.id), ...agents.map((a) => a.role)]);
      for (const id of ids) await profileOrNothing(`/v1/profiles/${encodeURIComponent(id)}`);
      for (const role of roles) await profileOrNothing(`/v1/profiles?role=${encodeURIComponent(role)}`);
      return { version, agents, profiles: [...profiles.values()] };
    },
    async load(files) {
      return fetchJson<LoadAnswer>(gatewayUrl, 'PUT', '/v1/registry', {
        authorization,
        body: { files },
      });
    },
  };
}

/** The registry's refusal of a load, as the problems it names (empty when it is not one). */
export function refusedProblems(error: unknown): GatewayProblem['problems'] {
  return error instanceof GatewayProblem ? error.problems : [];
}

export function isUnavailable(error: unknown): boolean {
  return error instanceof AppError && (error.code === 'unavailable' || error.code === 'timeout');
}
