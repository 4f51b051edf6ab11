import { MCP_MESH_TOOLS, ROLE_WILDCARD } from '@orgmesh/contracts';
import { normalizePattern } from '../loader/access-patterns.js';
import type { RenderInput } from './render.types.js';

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
  const meshToolsAllowed = MCP_MESH_TOOLS.filter(([, needs]) => needs === null || mesh[needs].length > 0).map(
    ([tool]) => tool,
  );
  const meshToolsDenied = MCP_MESH_TOOLS.map(([tool]) => tool).filter(
    (tool) => !meshToolsAllowed.includes(tool),
  );
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
