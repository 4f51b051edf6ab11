import { stringify } from 'yaml';
import type { RenderedFile } from '@orgmesh/contracts';
import { capabilitiesOf } from './agent-capabilities.js';
import { renderInstructions } from './instructions.js';
import { MCP_ENV, MCP_SERVER_NAME, type RenderInput } from './render.types.js';

const EXTENSION_TIMEOUT_SEC = 300;

/**
 * Goose: `.config/goose/config.yaml` (found with `XDG_CONFIG_HOME=<workspace>/.config`; provider pointed
 * at the privacy proxy, the developer and orgmesh extensions), `.goosehints` (the agent's brief) and
 * `.gooseignore` (the off-limits paths).
 */
export function renderGoose(input: RenderInput): RenderedFile[] {
  const { agent, profile, endpoints } = input;
  const caps = capabilitiesOf(input);
  const builtin = (name: string, availableTools?: string[]): Record<string, unknown> => ({
    bundled: true,
    enabled: true,
    name,
    timeout: EXTENSION_TIMEOUT_SEC,
    type: 'builtin',
    ...(availableTools ? { available_tools: availableTools } : {}),
  });
  const extensions: Record<string, unknown> = {};
  const bash = caps.bashAny || caps.bashPrefixes.length > 0;
  // Goose's developer extension bundles file editing and the shell; without a shell grant only the editor is loaded.
  if (caps.read || caps.edit || bash)
    extensions.developer = builtin('developer', bash ? undefined : ['text_editor']);
  if (caps.web) extensions.computercontroller = builtin('computercontroller');
  for (const name of profile.extensions) extensions[name] = builtin(name);
  extensions[MCP_SERVER_NAME] = {
    args: [...(endpoints.mcpArgs ?? [])],
    available_tools: [...caps.meshToolsAllowed],
    cmd: endpoints.mcpCommand,
    enabled: true,
    // Secrets are named, not written: Goose reads them from the environment or its keyring.
    env_keys: [MCP_ENV.clientSecret],
    envs: {
      [MCP_ENV.agentId]: agent.id,
      [MCP_ENV.clientId]: agent.id,
      [MCP_ENV.gatewayUrl]: endpoints.gatewayUrl,
    },
    name: MCP_SERVER_NAME,
    timeout: EXTENSION_TIMEOUT_SEC,
    type: 'stdio',
  };
  const provider =
    agent.model.provider === 'openai'
      ? {
          GOOSE_PROVIDER: 'openai',
          OPENAI_HOST: endpoints.privacyProxyUrl,
          OPENAI_BASE_PATH: 'v1/chat/completions',
        }
      : { GOOSE_PROVIDER: 'anthropic', ANTHROPIC_HOST: endpoints.privacyProxyUrl };
  const config = { ...provider, GOOSE_MODEL: agent.model.name, GOOSE_MODE: 'auto', extensions };
  const header =
    `# Rendered by the orgmesh registry from ${input.sources.agent} and ${input.sources.profile}.\n` +
    '# Do not edit: a changed file is reported as drift.\n';
  const ignore = [
    `# Paths ${agent.id} may not read or change (cannot_access, and other agents' exclusive_access).`,
    ...caps.offLimits,
  ];
  return [
    {
      path: '.config/goose/config.yaml',
      content: header + stringify(config, { sortMapEntries: true, lineWidth: 0 }),
    },
    { path: '.goosehints', content: renderInstructions(input, 'Goose') },
    { path: '.gooseignore', content: `${ignore.join('\n')}\n` },
  ];
}
