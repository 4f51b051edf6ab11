import { formatExitCodes } from '@orgmesh/config';

/**
 * `orgmesh-mcp --help`. Answered before the configuration is read: asking for help must not need
 * the agent's credentials (it used to fail with "invalid configuration").
 */
export const MCP_HELP = `orgmesh-mcp: the orgmesh mesh as MCP tools (send_task, request_approval, notify, fetch_status, …)

Usage:
  orgmesh-mcp [--stdio]              MCP over stdio (the default; what the rendered Claude Code and
                                     Goose configs spawn)
  orgmesh-mcp --http [--port <n>]    streamable HTTP at http://127.0.0.1:<n>/mcp
Options:
  --stdio                            stdio transport (MCP_TRANSPORT=stdio)
  --http                             streamable HTTP transport (MCP_TRANSPORT=http)
  --port <n>                         HTTP port (MCP_HTTP_PORT, default 8765)
  -h, --help                         this help

MCP revisions: 2026-07-28 and 2025-11-25 (and 2025-06-18, 2025-03-26, 2024-11-05, 2024-10-07), on
both transports, each in the revision the client speaks. request_approval is an MCP task for a
client that asks for one, otherwise it waits for the decision (MCP_APPROVAL_WAIT).

Environment: ORGMESH_AGENT_ID (required over stdio: the agent it acts for), ORGMESH_CLIENT_ID (default
the agent id), ORGMESH_CLIENT_SECRET (required over stdio), ORGMESH_GATEWAY_URL (http://127.0.0.1:8080),
MCP_HTTP_HOST (127.0.0.1), MCP_HTTP_PORT (8765), MCP_HTTP_ALLOWED_HOSTS, MCP_GATEWAY_TIMEOUT (15s),
MCP_STARTUP_CHECK (true), MCP_APPROVAL_WAIT (5m: request_approval's wait for clients without MCP
tasks), MCP_TASK_POLL_INTERVAL (1s), LOG_LEVEL. Logs go to stderr; over stdio, stdout belongs to
the protocol.

At start, when it has credentials (always over stdio), it obtains a token and has the gateway
verify it (GET /v1/auth/whoami); on failure it says on stderr which it was and exits: 1 the client
id/secret or the token was refused, 69 the gateway or the OpenID provider did not answer.
MCP_STARTUP_CHECK=false skips this (a client that starts its servers before the gateway is up).

Examples:
  ORGMESH_AGENT_ID=finance-agent ORGMESH_CLIENT_SECRET=finance-agent-dev-secret orgmesh-mcp
  orgmesh-mcp --http --port 8765
  claude mcp add orgmesh -e ORGMESH_AGENT_ID=finance-agent -e ORGMESH_CLIENT_SECRET=… -- orgmesh-mcp

Exit codes:
${formatExitCodes()}`;

/** `-h`/`--help` anywhere before a `--`. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}
