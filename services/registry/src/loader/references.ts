import {
  AccessPattern,
  AgentId,
  AgentTool,
  MeshTarget,
  ModelProvider,
  ProfileId,
  RoleId,
  type RegistryAgent,
  type RoleProfile,
} from '@orgmesh/contracts';
import type { z } from 'zod';
import { MESH_YAML_KEYS } from '../model/profile.model.js';
import { compare } from './problem.js';
import type { YamlSource } from './yaml-source.js';

/** Records a problem at a path of a file (its line and column located in the YAML). */
export type Report = (
  source: YamlSource,
  path: ReadonlyArray<PropertyKey>,
  reason: string,
  pointAtKey?: boolean,
) => void;

/**
 * What the reference checks read of an agent file. A file that failed its schema is still read, key by
 * key: each value that is valid on its own is checked against the rest of the registry, so one run
 * reports a schema error and the file's other problems together. `undefined` marks an unreadable key.
 */
export interface AgentView {
  readonly id: string;
  readonly role: string | undefined;
  /** null: the role's default profile; undefined: unreadable. */
  readonly profile: string | null | undefined;
  readonly model: RegistryAgent['model'] | undefined;
  readonly tools: readonly string[];
  readonly delegatesTo: readonly string[];
  readonly exclusiveAccess: readonly string[];
}

/** A registry file as parsed: its YAML source, its value when it passed its schema, the id it declares. */
export interface ParsedFile<T> {
  readonly source: YamlSource;
  /** Undefined when the file failed its schema. */
  readonly value: T | undefined;
  /** The `id` the file declares, even if the rest of it is invalid (avoids cascades of "unknown id"). */
  readonly rawId: string | undefined;
}

export function agentView(parsed: ParsedFile<RegistryAgent>): AgentView | undefined {
  if (parsed.value) return parsed.value;
  const raw = parsed.source.data;
  if (!isRecord(raw) || parsed.rawId === undefined || !AgentId.safeParse(parsed.rawId).success)
    return undefined;
  const model = raw['model'];
  const provider = isRecord(model) ? ModelProvider.safeParse(model['provider']) : undefined;
  return {
    id: parsed.rawId,
    role: valid(RoleId, raw['role']),
    profile: raw['profile'] === undefined ? null : valid(ProfileId, raw['profile']),
    model:
      isRecord(model) && provider?.success && typeof model['name'] === 'string' && model['name'] !== ''
        ? { provider: provider.data, name: model['name'] }
        : undefined,
    tools: validItems(AgentTool, raw['tools']).map(({ value }) => value),
    delegatesTo: validItems(AgentId, raw['delegates_to']).map(({ value }) => value),
    exclusiveAccess: validItems(AccessPattern, raw['exclusive_access']).map(({ value }) => value),
  };
}

/** The role references of a profile file (its role, its mesh targets), valid or not, with their paths. */
export function profileRoleRefs(parsed: ParsedFile<RoleProfile>): {
  role: string | undefined;
  meshTargets: Array<{ path: PropertyKey[]; target: string }>;
} {
  const raw = parsed.source.data;
  if (!isRecord(raw)) return { role: undefined, meshTargets: [] };
  const mesh = raw['mesh'];
  const meshTargets = Object.values(MESH_YAML_KEYS).flatMap((key) =>
    validItems(MeshTarget, isRecord(mesh) ? mesh[key] : undefined).map(({ value, index }) => ({
      path: ['mesh', key, index],
      target: value,
    })),
  );
  return { role: valid(RoleId, raw['role']), meshTargets };
}

/** Unresolved references to one kind of id, grouped by the id, each with where it is used. */
export class References {
  readonly byId = new Map<string, Array<{ source: YamlSource; path: ReadonlyArray<PropertyKey> }>>();

  add(id: string, source: YamlSource, path: ReadonlyArray<PropertyKey>): void {
    const list = this.byId.get(id) ?? [];
    list.push({ source, path });
    this.byId.set(id, list);
  }
}

export interface UnresolvedInput {
  readonly report: Report;
  readonly unknownRoles: References;
  readonly unknownAgents: References;
  readonly unknownProfiles: References;
  readonly declaredRoles: ReadonlyArray<{ id: string; index: number }>;
  readonly rolesSource: YamlSource | undefined;
  /** Roles some agent or profile file names (valid or not). */
  readonly usedRoles: ReadonlySet<string>;
  /** Roles some profile file is for. */
  readonly profileRoles: ReadonlySet<string>;
  readonly agentFiles: ReadonlyArray<{ source: YamlSource; rawId: string | undefined }>;
  /** Paths of every agents/… and profiles/… file, read or not, and of those read. */
  readonly filePaths: ReadonlySet<string>;
  readonly readPaths: ReadonlySet<string>;
  readonly declaredAgents: readonly string[];
  readonly declaredProfiles: readonly string[];
}

/**
 * Reports each unresolved id once, where the typo was made, instead of once per file that uses it:
 * - a role used in several files but declared nowhere, while roles.yaml declares a near spelling
 *   that nothing uses: the typo is in roles.yaml, reported there (one use: the use is the typo);
 * - an agent id delegated to, while agents/<that id>.yaml declares another id: the typo is that
 *   file's id, reported there;
 * - otherwise at the first use, naming the other uses and a near spelling if there is one.
 * It also reports the roles without a profile, except a role whose profile names it misspelled (the
 * misspelling is the one problem).
 */
export function reportUnresolved(input: UnresolvedInput): void {
  const { report } = input;
  // An unresolved id is reported once, at its first use, naming the others.
  const atFirstUse = (
    uses: ReadonlyArray<{ source: YamlSource; path: ReadonlyArray<PropertyKey> }>,
    reason: string,
  ) => {
    const [first] = uses;
    if (first) report(first.source, first.path, `${reason}${alsoUsed(uses)}`);
  };
  const explainedMissingProfile = new Set<string>();
  const declaredRoleIds = input.declaredRoles.map((r) => r.id);
  for (const [role, uses] of sortedGroups(input.unknownRoles)) {
    const near = nearest(role, declaredRoleIds);
    const declaredEntry = input.declaredRoles.find((r) => r.id === near);
    // Used in several files while the near spelling is used nowhere: the declaration is the typo. A single
    // use is more likely the typo itself (a new role declared before anything uses it).
    const files = new Set(uses.map((u) => u.source.file));
    if (near && declaredEntry && input.rolesSource && !input.usedRoles.has(near) && files.size > 1) {
      report(
        input.rolesSource,
        ['roles', declaredEntry.index, 'id'],
        `role "${near}" is used nowhere, while "${role}" is used ${times(uses.length)} but not declared (${where(uses)}): a misspelling of "${role}"?`,
      );
      explainedMissingProfile.add(near);
      continue;
    }
    // A profile whose role is misspelt is why its role "has no profile": one problem, at the profile.
    const profileRoleUse = uses.some((u) => u.source.file.startsWith('profiles/') && u.path[0] === 'role');
    if (near && profileRoleUse && !input.profileRoles.has(near)) explainedMissingProfile.add(near);
    atFirstUse(
      uses,
      `unknown role "${role}" (roles.yaml declares: ${listOf(declaredRoleIds)})${didYouMean(near)}`,
    );
  }
  for (const { id, index } of input.declaredRoles) {
    if (input.profileRoles.has(id) || explainedMissingProfile.has(id) || !input.rolesSource) continue;
    report(
      input.rolesSource,
      ['roles', index, 'id'],
      `role "${id}" has no profile (add profiles/${id}.yaml with role: ${id})`,
    );
  }

  // agents/<id>.yaml exists but could not be read: its own problem is the one to fix, not every use.
  const unreadable = (dir: string, id: string) =>
    [`${dir}/${id}.yaml`, `${dir}/${id}.yml`].some(
      (path) => input.filePaths.has(path) && !input.readPaths.has(path),
    );
  for (const [agentId, uses] of sortedGroups(input.unknownAgents)) {
    if (unreadable('agents', agentId)) continue;
    const misnamed = input.agentFiles.find(
      (file) => fileId(file.source.file) === agentId && file.rawId !== undefined && file.rawId !== agentId,
    );
    if (misnamed) {
      report(
        misnamed.source,
        ['id'],
        `declares id "${misnamed.rawId}", but the file is ${misnamed.source.file} and "${agentId}" is delegated to ${times(uses.length)} (${where(uses)}): a misspelling of "${agentId}"?`,
      );
      continue;
    }
    atFirstUse(uses, `unknown agent "${agentId}"${didYouMean(nearest(agentId, input.declaredAgents))}`);
  }

  for (const [profileId, uses] of sortedGroups(input.unknownProfiles)) {
    if (unreadable('profiles', profileId)) continue;
    atFirstUse(
      uses,
      `unknown profile "${profileId}"${didYouMean(nearest(profileId, input.declaredProfiles))}`,
    );
  }
}

function sortedGroups(refs: References) {
  return [...refs.byId.entries()]
    .map(([id, uses]) => [id, [...uses].sort((a, b) => compare(a.source.file, b.source.file))] as const)
    .sort(([a], [b]) => compare(a, b));
}

function where(uses: ReadonlyArray<{ source: YamlSource }>): string {
  const files = [...new Set(uses.map((u) => u.source.file))];
  return files.length <= 4
    ? files.join(', ')
    : `${files.slice(0, 4).join(', ')} and ${files.length - 4} more`;
}

function alsoUsed(uses: ReadonlyArray<{ source: YamlSource }>): string {
  return uses.length > 1 ? `; also used in ${where(uses.slice(1))}` : '';
}

function times(n: number): string {
  return n === 1 ? 'once' : `${n} times`;
}

function didYouMean(near: string | undefined): string {
  return near ? `; did you mean "${near}"?` : '';
}

/** `agents/finance-agent.yaml` → `finance-agent`. */
function fileId(file: string): string {
  return file.replace(/^.*\//, '').replace(/\.ya?ml$/, '');
}

/**
 * The closest candidate within 2 edits (and less than half the word), if any. A shared trailing
 * segment (`-agent`) is left out first, so `qa-agent` is not offered for `hr-agent`.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const [a, b] = withoutSharedTail(word, candidate);
    const distance = editDistance(a, b);
    if (distance <= Math.min(2, Math.floor(a.length / 2)) && (!best || distance < best.distance))
      best = { candidate, distance };
  }
  return best?.candidate;
}

function withoutSharedTail(a: string, b: string): [string, string] {
  let x = a;
  let y = b;
  for (;;) {
    const cut = x.lastIndexOf('-');
    if (cut <= 0 || !y.endsWith(x.slice(cut)) || y.length === x.length - cut) return [x, y];
    y = y.slice(0, y.length - (x.length - cut));
    x = x.slice(0, cut);
  }
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function valid<S extends z.ZodType>(schema: S, value: unknown): z.output<S> | undefined {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

function validItems<S extends z.ZodType>(
  schema: S,
  value: unknown,
): Array<{ value: z.output<S>; index: number }> {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item, index) => {
    const parsed = schema.safeParse(item);
    return parsed.success ? [{ value: parsed.data as z.output<S>, index }] : [];
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function listOf(values: Iterable<string>): string {
  return [...values].sort(compare).join(', ') || 'none';
}
