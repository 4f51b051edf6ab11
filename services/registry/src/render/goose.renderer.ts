import { stringify } from 'yaml';
import { MCP_SERVER_NAME, type RenderedFile } from '@orgmesh/contracts';
import { capabilitiesOf, type AgentCapabilities } from './agent-capabilities.js';
import { renderInstructions } from './instructions.js';
import { MCP_ENV, type RenderInput } from './render.types.js';

const EXTENSION_TIMEOUT_SEC = 300;

/**
 * The tools of Goose's `developer` platform extension (block/goose
 * `crates/goose/src/agents/platform_extensions/developer/mod.rs`): `write` and `edit` change files,
 * `shell` runs any command in the user's shell, `tree` lists a directory. There is no read-only tool
 * for file contents: Goose reads files through `shell`.
 */
export const GOOSE_DEVELOPER_TOOLS = ['edit', 'shell', 'tree', 'write'] as const;

/**
 * Goose platform extensions that are enabled by default and that Goose adds to config.yaml when it
 * finds no entry for them (`crates/goose/src/config/extensions.rs`). Each widens what the agent can
 * do beyond its registry grants (enable other extensions, spawn subagents, run code, build apps, read
 * other sessions), so they are rendered present and disabled: an absent entry would come back enabled.
 * `analyze` (read-only code structure) is enabled only with the `read` grant.
 */
export const GOOSE_PLATFORM_EXTENSIONS_OFF = [
  'apps',
  'chatrecall',
  'code_execution',
  'extensionmanager',
  'summon',
  'tom',
] as const;

/** What Goose gets for an agent's grants, and where that is narrower than the registry says. */
export interface GooseGrantPlan {
  /** `developer` tools exposed (empty: the extension is rendered disabled). */
  readonly developerTools: readonly string[];
  /** computercontroller tools exposed (empty: not rendered). */
  readonly computerControllerTools: readonly string[];
  readonly analyze: boolean;
  /** One line per grant Goose cannot enforce as declared: rendered narrower, or not at all. */
  readonly warnings: readonly string[];
}

/**
 * The narrowest Goose configuration for each grant kind (the table is in the registry README). Goose
 * restricts by exposing tools (`available_tools`), not by command: a shell is a shell, so a
 * `bash:<prefix>` grant is not rendered at all rather than rendered as an unrestricted shell.
 */
export function gooseGrantPlan(caps: AgentCapabilities): GooseGrantPlan {
  const developer = new Set<string>();
  const warnings: string[] = [];
  if (caps.read) {
    developer.add('tree');
    if (!caps.bashAny)
      warnings.push(
        'read: Goose has no read-only tool for file contents (its developer extension reads files through the shell); rendered as the directory listing `tree` and the `analyze` extension only',
      );
  }
  if (caps.edit) developer.add('edit').add('write');
  if (caps.bashAny) developer.add('shell');
  for (const prefix of caps.bashPrefixes) {
    warnings.push(
      `bash:${prefix}: not granted to Goose: its shell tool cannot be limited to commands starting with "${prefix}" ` +
        '(Claude Code enforces it, for agents on Anthropic models); grant `bash` in the registry to give Goose a full shell',
    );
  }
  const computerControllerTools = caps.web ? ['web_scrape'] : [];
  if (caps.web)
    warnings.push(
      "web: rendered as computercontroller's `web_scrape` only (fetch a URL); its automation_script and computer_control tools run scripts and are not exposed, and Goose has no separate web search tool",
    );
  return {
    developerTools: GOOSE_DEVELOPER_TOOLS.filter((tool) => developer.has(tool)),
    computerControllerTools,
    analyze: caps.read,
    warnings,
  };
}

/** The warnings of rendering this agent for Goose (empty when every grant is rendered as declared). */
export function gooseWarnings(input: RenderInput): string[] {
  return [...gooseGrantPlan(capabilitiesOf(input)).warnings];
}

/**
 * Goose: `.config/goose/config.yaml` (found with `XDG_CONFIG_HOME=<workspace>/.config`; provider pointed
 * at the privacy proxy, the extensions the grants allow), `.goosehints` (the agent's brief) and
 * `.gooseignore` (the off-limits paths).
 */
export function renderGoose(input: RenderInput): RenderedFile[] {
  const { agent, profile, endpoints } = input;
  const caps = capabilitiesOf(input);
  const plan = gooseGrantPlan(caps);
  const extensions: Record<string, unknown> = {};
  // Goose ships developer as a platform extension enabled by default: rendered disabled when nothing
  // is granted, because an absent entry is re-added enabled, with its shell.
  extensions.developer = {
    ...(plan.developerTools.length > 0 ? { available_tools: [...plan.developerTools] } : {}),
    bundled: true,
    description: 'Write and edit files, and execute shell commands',
    display_name: 'Developer',
    enabled: plan.developerTools.length > 0,
    name: 'developer',
    type: 'platform',
  };
  extensions.analyze = platformOff('analyze', plan.analyze);
  for (const name of GOOSE_PLATFORM_EXTENSIONS_OFF) extensions[name] = platformOff(name, false);
  if (plan.computerControllerTools.length > 0) {
    extensions.computercontroller = builtin('computercontroller', [...plan.computerControllerTools]);
  }
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
  // auto: the restriction is which tools exist (above), not approvals. Goose consults its per-tool
  // permissions (permission.yaml) only in approve modes, a headless run cannot answer approval
  // prompts, and Goose rewrites permission.yaml itself, which would read as drift.
  const config = { ...provider, GOOSE_MODEL: agent.model.name, GOOSE_MODE: 'auto', extensions };
  const header =
    `# Rendered by the orgmesh registry from ${input.sources.agent} and ${input.sources.profile}.\n` +
    '# Do not edit: a changed file is reported as drift.\n' +
    plan.warnings.map((warning) => `# Narrower than the registry: ${warning}\n`).join('');
  const ignore = [
    `# Paths ${agent.id} may not read or change (cannot_access, and other agents' exclusive_access).`,
    ...caps.offLimits,
  ];
  return [
    {
      path: '.config/goose/config.yaml',
      content: header + stringify(config, { sortMapEntries: true, lineWidth: 0 }),
    },
    { path: '.goosehints', content: renderInstructions(input, 'Goose', plan.warnings) },
    { path: '.gooseignore', content: `${ignore.join('\n')}\n` },
  ];
}

function builtin(name: string, availableTools?: string[]): Record<string, unknown> {
  return {
    bundled: true,
    enabled: true,
    name,
    timeout: EXTENSION_TIMEOUT_SEC,
    type: 'builtin',
    ...(availableTools ? { available_tools: availableTools } : {}),
  };
}

function platformOff(name: string, enabled: boolean): Record<string, unknown> {
  return { bundled: true, description: '', enabled, name, type: 'platform' };
}
