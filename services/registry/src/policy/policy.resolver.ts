import {
  POLICY_KINDS,
  ROLE_WILDCARD,
  type MeshPermissions,
  type PolicyDecision,
  type PolicyKind,
  type RoleProfile,
} from '@orgmesh/contracts';
import { MESH_YAML_KEYS } from '../model/profile.model.js';
import { defaultProfileOf, effectiveProfile, type RegistryModel } from '../model/registry.model.js';

const PERMISSION_BY_KIND: Record<PolicyKind, keyof MeshPermissions> = {
  task: 'sendTaskTo',
  approval: 'requestApprovalFrom',
  notification: 'notify',
};

const KIND_WORDS: Record<PolicyKind, string> = {
  task: 'tasks',
  approval: 'approval requests',
  notification: 'notifications',
};

/** Every decision of a registry version, precomputed: resolving is two map lookups. */
export interface PolicyIndex {
  /** Agent id → [role, profile id]; role id → [role, default profile id]. */
  readonly parties: ReadonlyMap<string, readonly [role: string, profileId: string]>;
  /** `${profileId} ${toRole} ${kind}` → decision. */
  readonly decisions: ReadonlyMap<string, PolicyDecision>;
}

const indexes = new WeakMap<RegistryModel, PolicyIndex>();

/**
 * May `from` send `to` a task, an approval request or a notification? `from` and `to` are agent ids or
 * roles; an agent speaks with its own profile's permissions, a role with its default profile's.
 * Default deny. The rule names the profile file and permission entry, or the default deny.
 * Pure; the index is built once per model and cached.
 */
export function resolvePolicy(
  model: RegistryModel,
  from: string,
  to: string,
  kind: PolicyKind,
): PolicyDecision {
  let index = indexes.get(model);
  if (!index) {
    index = buildPolicyIndex(model);
    indexes.set(model, index);
  }
  return resolveWithIndex(index, from, to, kind);
}

export function resolveWithIndex(
  index: PolicyIndex,
  from: string,
  to: string,
  kind: PolicyKind,
): PolicyDecision {
  const sender = index.parties.get(from);
  const receiver = index.parties.get(to);
  if (!sender)
    return {
      allowed: false,
      rule: `default-deny: unknown sender "${from}"`,
      fromRole: null,
      toRole: receiver?.[0] ?? null,
    };
  if (!receiver)
    return {
      allowed: false,
      rule: `default-deny: unknown recipient "${to}"`,
      fromRole: sender[0],
      toRole: null,
    };
  const decision = index.decisions.get(`${sender[1]} ${receiver[0]} ${kind}`);
  // Every (profile, role, kind) is precomputed; a miss would be a bug, and it still denies.
  return (
    decision ?? { allowed: false, rule: 'default-deny: no rule', fromRole: sender[0], toRole: receiver[0] }
  );
}

export function buildPolicyIndex(model: RegistryModel): PolicyIndex {
  const parties = new Map<string, readonly [string, string]>();
  for (const role of model.roles) {
    const profile = defaultProfileOf(model, role.id);
    if (profile) parties.set(role.id, [role.id, profile.id]);
  }
  for (const agent of model.agents) parties.set(agent.id, [agent.role, effectiveProfile(model, agent).id]);

  const decisions = new Map<string, PolicyDecision>();
  for (const profile of model.profiles) {
    const file = model.sources.profiles.get(profile.id) ?? `profile ${profile.id}`;
    for (const role of model.roles) {
      for (const kind of POLICY_KINDS) {
        decisions.set(`${profile.id} ${role.id} ${kind}`, decide(profile, file, role.id, kind));
      }
    }
  }
  return { parties, decisions };
}

function decide(profile: RoleProfile, file: string, toRole: string, kind: PolicyKind): PolicyDecision {
  const permission = PERMISSION_BY_KIND[kind];
  const targets = profile.mesh[permission];
  const exact = targets.indexOf(toRole);
  const index = exact >= 0 ? exact : targets.indexOf(ROLE_WILDCARD);
  const key = MESH_YAML_KEYS[permission];
  if (index >= 0) {
    return {
      allowed: true,
      rule: `${file}: mesh.${key}[${index}] (${targets[index]})`,
      fromRole: profile.role,
      toRole,
    };
  }
  return {
    allowed: false,
    rule: `default-deny: ${file} grants no ${KIND_WORDS[kind]} to ${toRole} (mesh.${key})`,
    fromRole: profile.role,
    toRole,
  };
}
