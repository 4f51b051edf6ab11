import type { z } from 'zod';
import {
  ROLE_WILDCARD,
  type RegistryRole,
  type RegistrySourceFile,
  type RoleProfile,
} from '@orgmesh/contracts';
import { AgentFileSchema } from '../model/agent.model.js';
import { ProfileFileSchema } from '../model/profile.model.js';
import type { RegistryModel } from '../model/registry.model.js';
import { RolesFileSchema } from '../model/role.model.js';
import { patternsOverlap } from './access-patterns.js';
import {
  agentView,
  profileRoleRefs,
  References,
  reportUnresolved,
  type AgentView,
  type ParsedFile,
  type Report,
} from './references.js';
import { compare, formatPath, ROOT_PATH, sortProblems, type Problem } from './problem.js';
import { locate, parseYaml, type YamlSource } from './yaml-source.js';

/**
 * The layout of a registry directory:
 *   roles.yaml          `roles: [{id, display_name, description}]`
 *   agents/<id>.yaml    one agent per file
 *   profiles/<id>.yaml  one role profile per file (mesh permissions are the policies)
 * Other non-YAML files (README.md, org-chart.csv) are ignored.
 */
export const REGISTRY_LAYOUT = {
  rolesFile: 'roles.yaml',
  agentsDir: 'agents',
  profilesDir: 'profiles',
} as const;

export type RegistryValidation = { ok: true; model: RegistryModel } | { ok: false; problems: Problem[] };

const YAML_FILE = /\.ya?ml$/;
const AGENT_FILE = /^agents\/[^/]+\.ya?ml$/;
const PROFILE_FILE = /^profiles\/[^/]+\.ya?ml$/;
const ROLES_FILE = /^roles\.ya?ml$/;

type Parsed<T> = ParsedFile<T>;

type Valid<T> = Parsed<T> & { value: T };
type Declarations<T extends { id: string }> = ReturnType<typeof uniqueById<T>>;

/**
 * Validates a registry given as its files (paths relative to the registry directory).
 * Pure: reads nothing, so the same function serves the CLI, the `load` RPC and tests.
 * All-or-nothing: either a complete model whose every reference resolves, or every problem found.
 */
export function validateRegistry(files: readonly RegistrySourceFile[]): RegistryValidation {
  const problems: Problem[] = [];
  const report: Report = (source, path, reason, pointAtKey = false) => {
    problems.push({ file: source.file, path: formatPath(path), reason, ...locate(source, path, pointAtKey) });
  };
  const { roleFiles, agentFiles, profileFiles } = sortFiles(files, problems);
  const parse = <S extends z.ZodType>(file: RegistrySourceFile, schema: S) =>
    parseFile(file, schema, problems, report);

  const roles = readRoles(roleFiles[0] && parse(roleFiles[0], RolesFileSchema), report);
  // Unresolved references are collected, not reported on the spot: one typo used in several files is
  // reported once, where it was made (see reportUnresolved).
  const unknown = { roles: new References(), agents: new References(), profiles: new References() };
  // Without a readable roles file every role reference would be reported as unknown: check none.
  const checkRole: CheckRole = (source, path, role) => {
    if (roles.parsed !== undefined && !roles.ids.has(role)) unknown.roles.add(role, source, path);
  };

  // Agents and profiles, first occurrence of an id wins (files in path order).
  const agents = uniqueById(
    agentFiles.map((f) => parse(f, AgentFileSchema)),
    'agent',
    report,
  );
  const profiles = uniqueById(
    profileFiles.map((f) => parse(f, ProfileFileSchema)),
    'profile',
    report,
  );
  const effectiveDefaults = checkProfiles(profiles, checkRole, report);
  for (const a of agents.first)
    checkAgent(a, { roleIds: roles.ids, agents, profiles, effectiveDefaults, checkRole, unknown, report });

  reportUnresolved({
    report,
    unknownRoles: unknown.roles,
    unknownAgents: unknown.agents,
    unknownProfiles: unknown.profiles,
    declaredRoles: roles.parsed?.value?.map((role, index) => ({ id: role.id, index })) ?? [],
    rolesSource: roles.parsed?.source,
    usedRoles: new Set([
      ...[...profiles.declared.values()].flatMap((p) => (p.rawRole ? [p.rawRole] : [])),
      ...[...agents.declared.values()].flatMap((a) => (a.rawRole ? [a.rawRole] : [])),
    ]),
    profileRoles: new Set([...profiles.declared.values()].flatMap((p) => (p.rawRole ? [p.rawRole] : []))),
    agentFiles: agents.first.map((a) => ({ source: a.source, rawId: a.rawId })),
    filePaths: new Set([...agentFiles, ...profileFiles].map((f) => f.path)),
    readPaths: new Set([...agents.first, ...profiles.first].map((p) => p.source.file)),
    declaredAgents: [...agents.declared.keys()],
    declaredProfiles: [...profiles.declared.keys()],
  });
  checkExclusiveAccess(agents.first, report);

  const rolesFile = roles.parsed;
  if (problems.length > 0 || !rolesFile?.value) return { ok: false, problems: sortProblems(problems) };
  const sortedProfiles = profiles.valid
    .map((p) => ({ ...p.value, isDefault: effectiveDefaults.get(p.value.role)?.id === p.value.id }))
    .sort((x, y) => compare(x.id, y.id));
  return {
    ok: true,
    model: {
      roles: [...roles.list].sort((x, y) => compare(x.id, y.id)),
      agents: agents.valid.map((a) => a.value).sort((x, y) => compare(x.id, y.id)),
      profiles: sortedProfiles,
      sources: {
        roles: rolesFile.source.file,
        agents: new Map(agents.valid.map((a) => [a.value.id, a.source.file])),
        profiles: new Map(profiles.valid.map((p) => [p.value.id, p.source.file])),
      },
    },
  };
}

type CheckRole = (source: YamlSource, path: ReadonlyArray<PropertyKey>, role: string) => void;

/** The files by kind, in path order; a file given twice, an unexpected YAML file and a missing or second roles file are problems. */
function sortFiles(
  files: readonly RegistrySourceFile[],
  problems: Problem[],
): { roleFiles: RegistrySourceFile[]; agentFiles: RegistrySourceFile[]; profileFiles: RegistrySourceFile[] } {
  const seenPaths = new Set<string>();
  const roleFiles: RegistrySourceFile[] = [];
  const agentFiles: RegistrySourceFile[] = [];
  const profileFiles: RegistrySourceFile[] = [];
  for (const file of [...files].sort((a, b) => compare(a.path, b.path))) {
    if (seenPaths.has(file.path)) {
      problems.push({ file: file.path, path: ROOT_PATH, reason: 'file given twice' });
      continue;
    }
    seenPaths.add(file.path);
    if (ROLES_FILE.test(file.path)) roleFiles.push(file);
    else if (AGENT_FILE.test(file.path)) agentFiles.push(file);
    else if (PROFILE_FILE.test(file.path)) profileFiles.push(file);
    else if (YAML_FILE.test(file.path)) {
      problems.push({
        file: file.path,
        path: ROOT_PATH,
        reason: 'unexpected file: a registry holds roles.yaml, agents/<id>.yaml and profiles/<id>.yaml',
      });
    }
  }
  if (roleFiles.length === 0) {
    problems.push({
      file: REGISTRY_LAYOUT.rolesFile,
      path: ROOT_PATH,
      reason: 'file not found: roles are declared in roles.yaml',
    });
  }
  for (const extra of roleFiles.slice(1)) {
    problems.push({
      file: extra.path,
      path: ROOT_PATH,
      reason: `roles are declared once; ${roleFiles[0]?.path} already does`,
    });
  }
  return { roleFiles, agentFiles, profileFiles };
}

/**
 * A file parsed as YAML and checked against its schema; undefined when it is not YAML. Every schema
 * issue is a problem; the declared `id` is kept even when the rest is invalid.
 */
function parseFile<S extends z.ZodType>(
  file: RegistrySourceFile,
  schema: S,
  problems: Problem[],
  report: Report,
): Parsed<z.output<S>> | undefined {
  const result = parseYaml(file.path, file.content);
  if (!result.ok) {
    problems.push(...result.problems);
    return undefined;
  }
  const { source } = result;
  const data = source.data;
  const rawId = isRecord(data) && typeof data.id === 'string' ? data.id : undefined;
  const parsed = schema.safeParse(data, { error: requiredMessage });
  if (parsed.success) return { source, value: parsed.data, rawId };
  for (const issue of parsed.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) report(source, [...issue.path, key], 'unknown key', true);
    } else report(source, issue.path, issue.message);
  }
  return { source, value: undefined, rawId };
}

/** The roles file: its role ids (readable ones even when invalid) and its roles, the first of each id. */
function readRoles(
  parsed: Parsed<z.output<typeof RolesFileSchema>> | undefined,
  report: Report,
): { parsed: typeof parsed; ids: Set<string>; list: RegistryRole[] } {
  const ids = new Set<string>(parsed ? rawRoleIds(parsed.source.data) : []);
  const list: RegistryRole[] = [];
  if (parsed?.value) {
    const firstIndex = new Map<string, number>();
    parsed.value.forEach((role, i) => {
      const first = firstIndex.get(role.id);
      if (first !== undefined)
        report(
          parsed.source,
          ['roles', i, 'id'],
          `duplicate role id "${role.id}" (first at roles[${first}])`,
        );
      else {
        firstIndex.set(role.id, i);
        list.push(role);
      }
    });
  }
  return { parsed, ids, list };
}

/**
 * Profiles: role and mesh targets (of invalid profiles too, from their readable keys), one default
 * per role. Returns each role's default profile, where there is exactly one.
 */
function checkProfiles(
  profiles: Declarations<RoleProfile>,
  checkRole: CheckRole,
  report: Report,
): Map<string, RoleProfile> {
  for (const p of profiles.first) {
    const view = profileRoleRefs(p);
    if (view.role !== undefined) checkRole(p.source, ['role'], view.role);
    for (const { path, target } of view.meshTargets)
      if (target !== ROLE_WILDCARD) checkRole(p.source, path, target);
  }
  const profilesByRole = new Map<string, Array<Valid<RoleProfile>>>();
  for (const p of profiles.valid) {
    const list = profilesByRole.get(p.value.role) ?? [];
    list.push(p);
    profilesByRole.set(p.value.role, list);
  }
  const effectiveDefaults = new Map<string, RoleProfile>();
  for (const [role, list] of profilesByRole) {
    if (list.length === 1 && list[0]) {
      effectiveDefaults.set(role, list[0].value);
      continue;
    }
    const marked = list.filter((p) => p.value.isDefault);
    if (marked.length === 0) {
      for (const p of list) {
        report(
          p.source,
          ['role'],
          `role "${role}" has ${list.length} profiles (${list
            .map((x) => x.value.id)
            .sort(compare)
            .join(', ')}); mark exactly one with default: true`,
        );
      }
    }
    for (const extra of marked.slice(1)) {
      report(
        extra.source,
        ['default'],
        `role "${role}" already has default profile "${marked[0]?.value.id}"`,
        true,
      );
    }
    // With no single default, agents of the role are not checked against a guessed profile (no cascades).
    if (marked.length === 1 && marked[0]) effectiveDefaults.set(role, marked[0].value);
  }
  return effectiveDefaults;
}

interface AgentChecks {
  roleIds: ReadonlySet<string>;
  agents: Declarations<z.output<typeof AgentFileSchema>>;
  profiles: Declarations<RoleProfile>;
  effectiveDefaults: ReadonlyMap<string, RoleProfile>;
  checkRole: CheckRole;
  unknown: { agents: References; profiles: References };
  report: Report;
}

/**
 * One agent: role, profile, delegation, model, tools, an id distinct from the roles'. An agent file
 * that failed its schema is checked too, on the keys that passed, so one run reports all of its problems.
 */
function checkAgent(a: Parsed<z.output<typeof AgentFileSchema>>, checks: AgentChecks): void {
  const { report, profiles } = checks;
  const agent = agentView(a);
  if (!agent) return;
  if (checks.roleIds.has(agent.id)) {
    report(
      a.source,
      ['id'],
      `agent id "${agent.id}" is also a role id; they must differ because policies name either`,
    );
  }
  if (agent.role !== undefined) checks.checkRole(a.source, ['role'], agent.role);
  let profile: RoleProfile | undefined =
    agent.role === undefined ? undefined : checks.effectiveDefaults.get(agent.role);
  if (agent.profile === undefined) profile = undefined;
  else if (agent.profile !== null) {
    profile = profiles.valid.find((p) => p.value.id === agent.profile)?.value;
    if (!profiles.declared.has(agent.profile))
      checks.unknown.profiles.add(agent.profile, a.source, ['profile']);
    else if (profile && agent.role !== undefined && profile.role !== agent.role) {
      report(
        a.source,
        ['profile'],
        `profile "${profile.id}" is for role "${profile.role}", not "${agent.role}"`,
      );
      profile = undefined;
    }
  }
  agent.delegatesTo.forEach((target, i) => {
    if (target === agent.id) report(a.source, ['delegates_to', i], 'an agent cannot delegate to itself');
    else if (!checks.agents.declared.has(target))
      checks.unknown.agents.add(target, a.source, ['delegates_to', i]);
    else {
      // Delegating is sending a task: a delegation the mesh policy would refuse is a broken declaration.
      const targetRole = checks.agents.declared.get(target)?.rawRole;
      const sendTaskTo = profile?.mesh.sendTaskTo;
      if (
        targetRole &&
        sendTaskTo &&
        !sendTaskTo.includes(targetRole) &&
        !sendTaskTo.includes(ROLE_WILDCARD)
      ) {
        report(
          a.source,
          ['delegates_to', i],
          `profile "${profile?.id}" does not allow sending tasks to role "${targetRole}" of agent "${target}" (mesh.send_task_to)`,
        );
      }
    }
  });
  if (profile) checkAgentAgainstProfile(a.source, agent, profile, report);
}

/** Exclusive access: no two agents may claim overlapping paths. */
function checkExclusiveAccess(
  agents: ReadonlyArray<Parsed<z.output<typeof AgentFileSchema>>>,
  report: Report,
): void {
  const claims = agents.flatMap((parsed) => {
    const view = agentView(parsed);
    if (!view) return [];
    const a = { source: parsed.source, value: view };
    return view.exclusiveAccess.map((pattern, index) => ({ a, pattern, index }));
  });
  for (let i = 0; i < claims.length; i++) {
    for (let j = i + 1; j < claims.length; j++) {
      const first = claims[i];
      const second = claims[j];
      if (!first || !second || first.a === second.a || !patternsOverlap(first.pattern, second.pattern))
        continue;
      report(
        second.a.source,
        ['exclusive_access', second.index],
        `"${second.pattern}" conflicts with exclusive_access "${first.pattern}" of agent "${first.a.value.id}" (${first.a.source.file})`,
      );
    }
  }
}

function checkAgentAgainstProfile(
  source: YamlSource,
  agent: AgentView,
  profile: RoleProfile,
  report: (source: YamlSource, path: ReadonlyArray<PropertyKey>, reason: string) => void,
): void {
  const provider = agent.model && profile.providers.find((p) => p.name === agent.model?.provider);
  if (!agent.model) {
    // An unreadable model was reported by the schema; the tools are still checked.
  } else if (!provider) {
    report(
      source,
      ['model', 'provider'],
      `provider "${agent.model.provider}" is not allowed by profile "${profile.id}" (allowed: ${profile.providers.map((p) => p.name).join(', ')})`,
    );
  } else if (provider.models.length > 0 && !provider.models.includes(agent.model.name)) {
    report(
      source,
      ['model', 'name'],
      `model "${agent.model.name}" is not allowed by profile "${profile.id}" (allowed: ${provider.models.join(', ')})`,
    );
  }
  agent.tools.forEach((tool, i) => {
    if (!toolAllowed(tool, profile.tools)) {
      report(
        source,
        ['tools', i],
        `tool "${tool}" is not allowed by profile "${profile.id}" (allowed: ${profile.tools.join(', ') || 'none'})`,
      );
    }
  });
}

/** `bash` in a profile allows any `bash:<prefix>`; otherwise a grant must be listed as is. */
function toolAllowed(tool: string, allowed: readonly string[]): boolean {
  return allowed.includes(tool) || (tool.startsWith('bash:') && allowed.includes('bash'));
}

interface Declared {
  readonly file: string;
  readonly rawRole: string | undefined;
}

function uniqueById<T extends { id: string }>(
  parsed: ReadonlyArray<Parsed<T> | undefined>,
  kind: 'agent' | 'profile',
  report: (source: YamlSource, path: ReadonlyArray<PropertyKey>, reason: string) => void,
): {
  valid: Array<Parsed<T> & { value: T }>;
  /** Every file that is the first to declare its id (valid or not): what references are checked on. */
  first: Array<Parsed<T>>;
  declared: Map<string, Declared>;
} {
  const declared = new Map<string, Declared>();
  const valid: Array<Parsed<T> & { value: T }> = [];
  const firsts: Array<Parsed<T>> = [];
  for (const p of parsed) {
    if (!p?.rawId) {
      if (p?.value) {
        valid.push(p as Parsed<T> & { value: T });
        firsts.push(p);
      }
      continue;
    }
    const first = declared.get(p.rawId);
    if (first) {
      report(p.source, ['id'], `duplicate ${kind} id "${p.rawId}" (also declared in ${first.file})`);
      continue;
    }
    const data = p.source.data;
    declared.set(p.rawId, {
      file: p.source.file,
      rawRole: isRecord(data) && typeof data.role === 'string' ? data.role : undefined,
    });
    firsts.push(p);
    if (p.value) valid.push(p as Parsed<T> & { value: T });
  }
  return { valid, first: firsts, declared };
}

function rawRoleIds(data: unknown): string[] {
  if (!isRecord(data) || !Array.isArray(data.roles)) return [];
  return data.roles.flatMap((r: unknown) => (isRecord(r) && typeof r.id === 'string' ? [r.id] : []));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A missing key reads "required" rather than zod's "expected string, received undefined". */
function requiredMessage(issue: { code?: string; input?: unknown }): string | undefined {
  return issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined;
}
