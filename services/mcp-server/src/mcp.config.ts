import { z } from 'zod';
import { ConfigError, env, httpListenEnv, parseConfig, telemetryEnv } from '@orgmesh/config';
import { OIDC_CLIENT_ENV, oidcClientSettings, type OidcClientSettings } from '@orgmesh/agent-sdk';

const optional = env.optionalString();

/**
 * The only place orgmesh-mcp reads its environment. The names are the ones the registry renders
 * into `.mcp.json` and Goose's `config.yaml` (services/registry/src/render/render.types.ts MCP_ENV):
 * ORGMESH_AGENT_ID, ORGMESH_CLIENT_ID, ORGMESH_CLIENT_SECRET (referenced, never rendered), ORGMESH_GATEWAY_URL.
 */
export const McpConfigSchema = z.object({
  ORGMESH_AGENT_ID: optional,
  /** Defaults to the agent id (the gateway's dev clients are named after their agent). */
  ORGMESH_CLIENT_ID: optional,
  ORGMESH_CLIENT_SECRET: optional,
  /** Rendered by the registry; GATEWAY_URL is accepted as a fallback. */
  ORGMESH_GATEWAY_URL: optional,
  GATEWAY_URL: optional,
  /** `stdio` (default: what Claude Code and Goose spawn) or `http` (streamable HTTP on MCP_HTTP_PORT). */
  MCP_TRANSPORT: z.enum(['stdio', 'http']).optional(),
  /** The streamable HTTP port (MCP_HTTP_PORT) and the address it binds (MCP_HTTP_HOST, loopback unless set). */
  ...httpListenEnv('MCP', 8765),
  /** Comma-separated extra Host header values accepted in HTTP mode (DNS rebinding protection). */
  MCP_HTTP_ALLOWED_HOSTS: optional,
  /**
   * At start, obtain a token and have the gateway verify it (GET /v1/auth/whoami), exiting 1 (refused)
   * or 69 (not reached) on failure; `false` starts anyway (a client that starts servers before the gateway).
   */
  MCP_STARTUP_CHECK: env.bool(true),
  /** One gateway call's time limit. */
  MCP_GATEWAY_TIMEOUT: env.duration('15s'),
  /**
   * How long request_approval waits for the decision when the client did not ask for an MCP task
   * (the blocking fallback, ADR 0017); then it answers approval_pending and the approval stays open.
   */
  MCP_APPROVAL_WAIT: env.duration('5m'),
  /** The pollInterval an approval task advertises, and how often the blocking wait asks the mesh. */
  MCP_TASK_POLL_INTERVAL: env.duration('1s'),
  ...telemetryEnv,
  /** ORGMESH_OIDC_*: tokens from an OpenID provider instead of the gateway's dev issuer (docs/identity.md). */
  ...OIDC_CLIENT_ENV,
});

export interface McpConfig {
  readonly agentId: string | undefined;
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
  /** Set when ORGMESH_OIDC_ISSUER is: the agent's tokens come from that OpenID provider. */
  readonly oidc: OidcClientSettings | undefined;
  readonly gatewayUrl: string;
  readonly transport: 'stdio' | 'http';
  readonly httpHost: string;
  readonly httpPort: number;
  readonly allowedHosts: readonly string[];
  readonly gatewayTimeoutMs: number;
  /** MCP_APPROVAL_WAIT: the blocking fallback's limit. */
  readonly approvalWaitMs: number;
  /** MCP_TASK_POLL_INTERVAL. */
  readonly taskPollIntervalMs: number;
  /** MCP_STARTUP_CHECK: check the credentials at start (gateway/credentials.check.ts). */
  readonly startupCheck: boolean;
  readonly logLevel: string;
  readonly otlpEndpoint: string | undefined;
  readonly otelServiceName: string | undefined;
}

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';

/**
 * Parses the environment (and `--http` / `--stdio` / `--port <n>` flags). In stdio mode the agent's
 * credentials are required: the process acts as that agent. In HTTP mode they are optional, because
 * a client may present its own orgmesh token as `Authorization: Bearer`.
 */
export function loadMcpConfig(
  source: Record<string, string | undefined> = process.env,
  argv: readonly string[] = [],
): McpConfig {
  const raw = parseConfig('orgmesh-mcp', McpConfigSchema, source);
  let transport = raw.MCP_TRANSPORT ?? 'stdio';
  let httpPort = raw.MCP_HTTP_PORT;
  const problems: Array<{ key: string; reason: string }> = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--http') transport = 'http';
    else if (arg === '--stdio') transport = 'stdio';
    else if (arg === '--port' || arg?.startsWith('--port=')) {
      const value = arg === '--port' ? argv[++i] : arg.slice('--port='.length);
      const port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        problems.push({ key: '--port', reason: 'expected a port number' });
      else httpPort = port;
    } else
      problems.push({ key: String(arg), reason: 'unknown argument (expected --stdio, --http, --port <n>)' });
  }
  const agentId = raw.ORGMESH_AGENT_ID;
  const clientId = raw.ORGMESH_CLIENT_ID ?? agentId;
  const oidc = oidcClientSettings(raw, clientId, problems);
  // With an OpenID provider the credential is ORGMESH_OIDC_CLIENT_SECRET or the key file (checked above).
  const hasCredential = Boolean(raw.ORGMESH_CLIENT_SECRET) || raw.ORGMESH_OIDC_ISSUER !== undefined;
  if (transport === 'stdio') {
    if (!clientId && !raw.ORGMESH_OIDC_CLIENT_ID)
      problems.push({ key: 'ORGMESH_AGENT_ID', reason: 'required: the agent this server acts for' });
    if (!hasCredential)
      problems.push({ key: 'ORGMESH_CLIENT_SECRET', reason: 'required: the agent client secret' });
  } else if (!raw.ORGMESH_OIDC_ISSUER && Boolean(clientId) !== Boolean(raw.ORGMESH_CLIENT_SECRET)) {
    problems.push({
      key: clientId ? 'ORGMESH_CLIENT_SECRET' : 'ORGMESH_AGENT_ID',
      reason: 'set both or neither',
    });
  }
  const gatewayUrl = (raw.ORGMESH_GATEWAY_URL ?? raw.GATEWAY_URL ?? DEFAULT_GATEWAY_URL).replace(/\/+$/, '');
  if (!URL.canParse(gatewayUrl) || !/^https?:/.test(gatewayUrl)) {
    problems.push({
      key: raw.ORGMESH_GATEWAY_URL ? 'ORGMESH_GATEWAY_URL' : 'GATEWAY_URL',
      reason: 'expected an http(s) URL',
    });
  }
  if (problems.length) throw new ConfigError('orgmesh-mcp', problems);
  return {
    agentId,
    clientId,
    clientSecret: raw.ORGMESH_CLIENT_SECRET,
    oidc,
    gatewayUrl,
    transport,
    httpHost: raw.MCP_HTTP_HOST,
    httpPort,
    allowedHosts:
      raw.MCP_HTTP_ALLOWED_HOSTS?.split(',')
        .map((h) => h.trim())
        .filter(Boolean) ?? [],
    gatewayTimeoutMs: raw.MCP_GATEWAY_TIMEOUT,
    approvalWaitMs: raw.MCP_APPROVAL_WAIT,
    taskPollIntervalMs: raw.MCP_TASK_POLL_INTERVAL,
    startupCheck: raw.MCP_STARTUP_CHECK,
    logLevel: raw.LOG_LEVEL,
    otlpEndpoint: raw.OTEL_EXPORTER_OTLP_ENDPOINT,
    otelServiceName: raw.OTEL_SERVICE_NAME,
  };
}
