import { ROLE_WILDCARD, type MeshPermissions } from '@orgmesh/contracts';
import { normalizePattern } from '../loader/access-patterns.js';
import type { RenderInput } from './render.types.js';

/** The orgmesh MCP server's tools, and the mesh permission each one needs (none: always available). */
export const MESH_TOOLS: ReadonlyArray<readonly [tool: string, needs: keyof MeshPermissions | null]> = [
  ['complete_task', null],
  ['fetch_status', null],
  ['get_agent', null],
  ['list_agents', null],
  ['list_tasks', null],
  ['notify', 'notify'],
  ['request_approval', 'requestApprovalFrom'],
  ['send_task', 'sendTaskTo'],
];

/** Client-neutral view of what an agent may do, shared by every renderer. */
export interface AgentCapabilities {
  readonly read: boolean;
  readonly edit: boolean;
  readonly web: boolean;
  /** `bash` granted without restriction. */
  readonly bashAny: boolean;
  /** Command prefixes of `bash:<prefix>` grants (empty when bashAny). */
  readonly bashPrefixes: readonly string[];
  readonly meshToolsAllowed: readonly string[];
  readonly meshToolsDenied: readonly string[];
  /** cannot_access, then other agents' exclusive paths; normalised, deduplicated, in that order. */
  readonly offLimits: readonly string[];
}

export function capabilitiesOf(input: RenderInput): AgentCapabilities {
  const tools = new Set(input.agent.tools);
  const bashAny = tools.has('bash');
  const bashPrefixes = bashAny
    ? []
    : [
        ...new Set(
          input.agent.tools.filter((t) => t.startsWith('bash:')).map((t) => t.slice('bash:'.length)),
        ),
      ];
  const mesh = input.profile.mesh;
  const meshToolsAllowed = MESH_TOOLS.filter(([, needs]) => needs === null || mesh[needs].length > 0).map(
    ([tool]) => tool,
  );
  const meshToolsDenied = MESH_TOOLS.map(([tool]) => tool).filter((tool) => !meshToolsAllowed.includes(tool));
  const offLimits = [
    ...new Set([...input.agent.cannotAccess, ...input.othersExclusiveAccess].map(normalizePattern)),
  ];
  return {
    read: tools.has('read'),
    edit: tools.has('edit'),
    web: tools.has('web'),
    bashAny,
    bashPrefixes,
    meshToolsAllowed,
    meshToolsDenied,
    offLimits,
  };
}

/** `finance, manager` or `every role`. */
export function describeTargets(targets: readonly string[]): string {
  if (targets.includes(ROLE_WILDCARD)) return 'every role';
  return targets.length > 0 ? targets.join(', ') : 'nobody';
}
