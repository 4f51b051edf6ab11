import {
  AppError,
  CONFIG_FORMATS,
  configHash,
  type ConfigFormat,
  type RegistryAgent,
  type RenderedFile,
} from '@orgmesh/contracts';
import { compare } from '../loader/problem.js';
import { effectiveProfile, findAgent, type RegistryModel } from '../model/registry.model.js';
import { capabilitiesOf } from './agent-capabilities.js';
import { renderClaudeCode } from './claude-code.renderer.js';
import { gooseWarnings, renderGoose } from './goose.renderer.js';
import type { RenderEndpoints, RenderInput } from './render.types.js';

/** The files of one agent's client config, sorted by path. Byte-for-byte deterministic for equal input. */
export function renderConfig(input: RenderInput, format: ConfigFormat): RenderedFile[] {
  const { agent } = input;
  if (!formatsFor(agent).includes(format)) {
    throw new AppError(
      'validation_failed',
      `agent "${agent.id}" uses a model of provider "${agent.model.provider}"; Claude Code speaks only the Anthropic API (render format goose instead)`,
    );
  }
  const files = format === 'claude-code' ? renderClaudeCode(input) : renderGoose(input);
  return files.sort((a, b) => compare(a.path, b.path));
}

/**
 * Where the rendered config is narrower than, or cannot enforce exactly, the registry's grants: one
 * line per grant, for the CLI, the render-config answer and `orgmesh agent run` to show. Never wider:
 * a grant a client cannot restrict is left out, not rendered unrestricted.
 */
export function renderWarnings(input: RenderInput, format: ConfigFormat): string[] {
  if (format === 'goose') return gooseWarnings(input);
  const caps = capabilitiesOf(input);
  const shell = caps.bashAny || caps.bashPrefixes.length > 0;
  return shell && caps.offLimits.length > 0
    ? [
        "off-limits paths in shell commands: Claude Code's Read/Edit denies are not a sandbox for Bash; the PreToolUse hook blocks commands naming an off-limits path, best effort (a shell can hide a path)",
      ]
    : [];
}

/** The client formats an agent can run in: Claude Code speaks only the Anthropic Messages API. */
export function formatsFor(agent: RegistryAgent): ConfigFormat[] {
  return CONFIG_FORMATS.filter((format) => format !== 'claude-code' || agent.model.provider === 'anthropic');
}

/** Gathers an agent's render input from a validated model. Unknown agent → agent_not_found. */
export function renderInputFor(
  model: RegistryModel,
  agentId: string,
  endpoints: RenderEndpoints,
): RenderInput {
  const agent = findAgent(model, agentId);
  if (!agent) throw new AppError('agent_not_found', `unknown agent "${agentId}"`);
  const profile = effectiveProfile(model, agent);
  const delegates = agent.delegatesTo.flatMap((id) => {
    const delegate = findAgent(model, id);
    return delegate
      ? [{ id, displayName: delegate.displayName, role: delegate.role, description: delegate.description }]
      : [];
  });
  const othersExclusiveAccess = model.agents
    .filter((other) => other.id !== agent.id)
    .flatMap((other) => other.exclusiveAccess)
    .sort(compare);
  return {
    agent,
    profile,
    endpoints,
    delegates,
    othersExclusiveAccess,
    sources: {
      agent: model.sources.agents.get(agent.id) ?? `agents/${agent.id}.yaml`,
      profile: model.sources.profiles.get(profile.id) ?? `profiles/${profile.id}.yaml`,
    },
  };
}

export function renderAgentConfig(
  model: RegistryModel,
  agentId: string,
  format: ConfigFormat,
  endpoints: RenderEndpoints,
): RenderedFile[] {
  return renderConfig(renderInputFor(model, agentId, endpoints), format);
}

/** renderWarnings for an agent of a validated model. */
export function renderAgentWarnings(
  model: RegistryModel,
  agentId: string,
  format: ConfigFormat,
  endpoints: RenderEndpoints,
): string[] {
  return renderWarnings(renderInputFor(model, agentId, endpoints), format);
}

/** The hash of every format the agent can be rendered in (Claude Code only for Anthropic models). */
export function expectedConfigHashes(
  model: RegistryModel,
  agentId: string,
  endpoints: RenderEndpoints,
): Partial<Record<ConfigFormat, string>> {
  const input = renderInputFor(model, agentId, endpoints);
  const hashes: Partial<Record<ConfigFormat, string>> = {};
  for (const format of formatsFor(input.agent)) {
    hashes[format] = configHash(renderConfig(input, format));
  }
  return hashes;
}
