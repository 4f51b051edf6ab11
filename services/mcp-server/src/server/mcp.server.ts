import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { TokenClaimNames } from '@orgmesh/agent-sdk';
import { checkJsonBounds, MCP_SERVER_NAME } from '@orgmesh/contracts';
import { unexpectedErrorFields, type Logger } from '@orgmesh/telemetry';
import { GatewayClient } from '../gateway/gateway.client.js';
import { GatewayError } from '../gateway/gateway.errors.js';
import type { McpMetrics } from './mcp.metrics.js';
import { claimsOf, type TokenSource } from '../gateway/token.provider.js';
import { MESH_TOOLS, type ToolContext } from '../tools/mesh.tools.js';
import { toolFailure, toolSuccess } from '../tools/tool-result.js';

export const MCP_SERVER_VERSION = '0.1.0';

export interface OrgmeshMcpDeps {
  readonly gatewayUrl: string;
  readonly tokens: TokenSource;
  readonly gatewayTimeoutMs?: number;
  readonly logger: Logger;
  readonly fetch?: typeof fetch;
  /** Counts tool calls that failed in a way no code path anticipated. */
  readonly metrics?: McpMetrics;
  /** Where the token names the agent and its role (an OpenID provider's mapping); default `sub`, `role`. */
  readonly claims?: TokenClaimNames;
}

const INSTRUCTIONS =
  'orgmesh connects you with the other agents of your organisation. send_task and request_approval reach another ' +
  'role; notify tells it something; list_tasks shows your inbox and outbox; fetch_status follows a task; ' +
  'complete_task finishes work sent to you (approvals: with a decision); list_agents shows who is there, ' +
  'get_agent one of them in full. Lists answer one line per item; pass detail: true for every field. ' +
  'Errors start with a stable code (policy_denied, task_illegal_transition, validation_failed, …).';

/** An MCP server exposing the mesh tools, each one a call to the gateway with the caller's token. */
export function createOrgmeshMcpServer(deps: OrgmeshMcpDeps): McpServer {
  const gateway = new GatewayClient({
    gatewayUrl: deps.gatewayUrl,
    tokens: deps.tokens,
    timeoutMs: deps.gatewayTimeoutMs,
    fetch: deps.fetch,
  });
  const ctx: ToolContext = {
    gateway,
    callerRole: async () => claimsOf(await deps.tokens.token(), deps.claims).role,
  };
  const server = new McpServer(
    { name: MCP_SERVER_NAME, version: MCP_SERVER_VERSION },
    { instructions: INSTRUCTIONS },
  );
  for (const tool of MESH_TOOLS) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.inputSchema,
        annotations: {
          title: tool.title,
          readOnlyHint: tool.readOnly,
          destructiveHint: false,
          openWorldHint: false,
        },
      },
      async (args: Record<string, unknown>) => {
        const started = Date.now();
        // The rule of every orgmesh edge (issue 17), before any tool code runs: no NUL or lone
        // surrogate in any string, JSON no deeper than 64 levels. encodeURIComponent, for one,
        // throws on a lone surrogate.
        const unsafe = checkJsonBounds(args);
        if (unsafe) {
          const path = unsafe.path || '(root)';
          return toolFailure(
            new GatewayError('validation_failed', `invalid arguments: ${path}: ${unsafe.message}`, 0, {
              issues: [{ path, message: unsafe.message }],
            }),
          );
        }
        try {
          const result = toolSuccess(await tool.run(args as never, ctx));
          deps.logger.info({ tool: tool.name, ms: Date.now() - started }, 'tool call succeeded');
          return result;
        } catch (error) {
          if (error instanceof GatewayError) {
            deps.logger.warn(
              { tool: tool.name, ms: Date.now() - started, code: error.code },
              'tool call failed',
            );
          } else {
            // The last-resort boundary of a tool call: the client gets `internal`, the process keeps serving.
            deps.metrics?.countUnexpected('mcp-tool', tool.name);
            deps.logger.error(
              {
                tool: tool.name,
                ms: Date.now() - started,
                ...unexpectedErrorFields(error),
              },
              'tool call failed unexpectedly',
            );
          }
          return toolFailure(error);
        }
      },
    );
  }
  return server;
}
