import type { RegistryAgent, RoleProfile } from '@orgmesh/contracts';
import { canonicalJson, sha256Hex } from '../canonical-json.js';
import { effectiveProfile, type RegistryModel } from './registry.model.js';

/** sha256 of the canonical model (roles, agents, profiles; not file names): equal digests, equal registries. */
export function modelDigest(model: RegistryModel): string {
  return `sha256:${sha256Hex(canonicalJson({ roles: model.roles, agents: model.agents, profiles: model.profiles }))}`;
}

export interface RegistryChanges {
  readonly registered: readonly RegistryAgent[];
  readonly updated: ReadonlyArray<{ agent: RegistryAgent; changed: string[] }>;
  readonly removed: readonly RegistryAgent[];
  /** New or changed profiles: each is published (signed) with the new version. */
  readonly publishedProfiles: readonly RoleProfile[];
}

/**
 * What a new registry version changes, for the events it publishes. An agent whose own declaration is
 * unchanged but whose effective profile changed is `updated` with `changed: ['profile']`: its rendered
 * config differs, so running instances will drift.
 */
export function diffModels(previous: RegistryModel | undefined, next: RegistryModel): RegistryChanges {
  const before = new Map(previous?.agents.map((a) => [a.id, a]) ?? []);
  const profilesBefore = new Map(previous?.profiles.map((p) => [p.id, canonicalJson(p)]) ?? []);
  const publishedProfiles = next.profiles.filter((p) => profilesBefore.get(p.id) !== canonicalJson(p));
  const changedProfileIds = new Set(publishedProfiles.map((p) => p.id));

  const registered: RegistryAgent[] = [];
  const updated: Array<{ agent: RegistryAgent; changed: string[] }> = [];
  for (const agent of next.agents) {
    const old = before.get(agent.id);
    if (!old) {
      registered.push(agent);
      continue;
    }
    const changed = (Object.keys(agent) as Array<keyof RegistryAgent>).filter(
      (key) => canonicalJson(agent[key]) !== canonicalJson(old[key]),
    );
    if (previous && !changed.includes('profile') && changedProfileIds.has(effectiveProfile(next, agent).id))
      changed.push('profile');
    if (changed.length > 0) updated.push({ agent, changed: changed.sort() });
  }
  const nextIds = new Set(next.agents.map((a) => a.id));
  const removed = [...before.values()].filter((a) => !nextIds.has(a.id));
  return { registered, updated, removed, publishedProfiles };
}
