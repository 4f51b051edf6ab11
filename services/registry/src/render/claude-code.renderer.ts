import { MCP_SERVER_NAME, type RenderedFile } from '@orgmesh/contracts';
import { canonicalJson } from '../canonical-json.js';
import { capabilitiesOf } from './agent-capabilities.js';
import { renderInstructions } from './instructions.js';
import type { HookEvent } from '@orgmesh/contracts';
import { apiKeyHelperCommand, hookCommand } from './hook-command.js';
import { MCP_ENV, type RenderInput } from './render.types.js';

/**
 * Claude Code: `.claude/settings.json` (model endpoint, permissions, hooks), `.mcp.json` (the orgmesh
 * MCP server) and `CLAUDE.md` (the agent's brief). Only for Anthropic models (see formatsFor).
 */
export function renderClaudeCode(input: RenderInput): RenderedFile[] {
  const { agent, endpoints } = input;
  const caps = capabilitiesOf(input);
  const allow: string[] = [];
  const deny: string[] = [];
  if (caps.read) allow.push('Glob', 'Grep', 'Read');
  else deny.push('Glob', 'Grep', 'Read');
  if (caps.edit) allow.push('Edit', 'NotebookEdit', 'Write');
  else deny.push('Edit', 'NotebookEdit', 'Write');
  if (caps.web) allow.push('WebFetch', 'WebSearch');
  else deny.push('WebFetch', 'WebSearch');
  if (caps.bashAny) allow.push('Bash');
  else if (caps.bashPrefixes.length > 0)
    // `Bash(npm *)`: the command `npm` or `npm <anything>`, not `npmx` (the space is a word boundary;
    // the older `Bash(npm:*)` form is deprecated). Other commands fall to defaultMode below.
    allow.push(...caps.bashPrefixes.map((prefix) => `Bash(${prefix} *)`));
  else deny.push('Bash');
  allow.push(...caps.meshToolsAllowed.map((tool) => `mcp__${MCP_SERVER_NAME}__${tool}`));
  deny.push(...caps.meshToolsDenied.map((tool) => `mcp__${MCP_SERVER_NAME}__${tool}`));
  for (const path of caps.offLimits) deny.push(`Edit(${claudePath(path)})`, `Read(${claudePath(path)})`);

  const hook = (event: HookEvent): Array<{ type: 'command'; command: string }> => [
    { type: 'command', command: hookCommand(event, agent.id) },
  ];
  const settings = {
    $schema: 'https://json.schemastore.org/claude-code-settings.json',
    model: agent.model.name,
    // The model credential is asked for, not fixed at start: `orgmesh agent token` prints a fresh token
    // and Claude Code re-runs it on its TTL and after a 401, so a run outlives its first token. The
    // runner leaves ANTHROPIC_AUTH_TOKEN/ANTHROPIC_API_KEY unset: either would take precedence over it.
    apiKeyHelper: apiKeyHelperCommand(agent.id),
    env: {
      ANTHROPIC_BASE_URL: endpoints.privacyProxyUrl,
      [MCP_ENV.agentId]: agent.id,
      [MCP_ENV.gatewayUrl]: endpoints.gatewayUrl,
    },
    // dontAsk: what no allow rule grants is refused, never put to the operator, so a prompt cannot
    // widen the registry's grants (a `bash:npm` agent asking to run curl is denied, not asked about).
    permissions: { allow, defaultMode: 'dontAsk', deny },
    enabledMcpjsonServers: [MCP_SERVER_NAME],
    hooks: {
      // Guards file and shell tools against the off-limits paths (deny rules do not see into shell commands).
      PreToolUse: [{ matcher: 'Bash|Edit|NotebookEdit|Read|Write', hooks: hook('pre-tool-use') }],
      SessionStart: [{ hooks: hook('session-start') }],
      Stop: [{ hooks: hook('stop') }],
    },
  };
  const mcp = {
    mcpServers: {
      [MCP_SERVER_NAME]: {
        type: 'stdio',
        command: endpoints.mcpCommand,
        args: [...(endpoints.mcpArgs ?? [])],
        env: {
          [MCP_ENV.agentId]: agent.id,
          [MCP_ENV.clientId]: agent.id,
          // Claude Code expands ${VAR} from its environment: the secret is never written to disk.
          [MCP_ENV.clientSecret]: `\${${MCP_ENV.clientSecret}}`,
          [MCP_ENV.gatewayUrl]: endpoints.gatewayUrl,
        },
      },
    },
  };
  return [
    { path: '.claude/settings.json', content: `${canonicalJson(settings, 2)}\n` },
    { path: '.mcp.json', content: `${canonicalJson(mcp, 2)}\n` },
    { path: 'CLAUDE.md', content: renderInstructions(input, 'Claude Code') },
  ];
}

/** Claude Code resolves `./x` against the working directory, which the runner sets to the agent's workspace. */
function claudePath(path: string): string {
  return `./${path}`;
}
