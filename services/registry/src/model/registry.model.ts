import type { RegistryAgent, RegistryRole, RoleProfile } from '@orgmesh/contracts';

/**
 * A complete, validated registry: every cross-reference resolves. Only `validateRegistry`
 * produces one, so code holding a RegistryModel never re-checks references.
 * Lists are sorted by id; `sources` maps each entity to the file it came from.
 */
export interface RegistryModel {
  readonly roles: readonly RegistryRole[];
  readonly agents: readonly RegistryAgent[];
  readonly profiles: readonly RoleProfile[];
  readonly sources: {
    readonly roles: string;
    readonly agents: ReadonlyMap<string, string>;
    readonly profiles: ReadonlyMap<string, string>;
  };
}

export function findAgent(model: RegistryModel, agentId: string): RegistryAgent | undefined {
  return model.agents.find((a) => a.id === agentId);
}

export function findProfile(model: RegistryModel, profileId: string): RoleProfile | undefined {
  return model.profiles.find((p) => p.id === profileId);
}

export function defaultProfileOf(model: RegistryModel, role: string): RoleProfile | undefined {
  return model.profiles.find((p) => p.role === role && p.isDefault);
}

/** The profile an agent runs under: the one it names, else its role's default. Always defined for a validated model. */
export function effectiveProfile(model: RegistryModel, agent: RegistryAgent): RoleProfile {
  const profile = agent.profile ? findProfile(model, agent.profile) : defaultProfileOf(model, agent.role);
  if (!profile) throw new Error(`registry model invariant broken: no profile for agent ${agent.id}`);
  return profile;
}
