import { delimiter } from 'node:path';
import { PRIVACY_CONTEXT_HEADER, PRIVACY_SESSION_HEADER, type ConfigFormat } from '@orgmesh/contracts';

export interface AgentEnvironmentInput {
  /** The runner's own environment, inherited by the command. */
  readonly base: Readonly<Record<string, string | undefined>>;
  readonly agentId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The agent's orgmesh JWT: what the privacy proxy accepts instead of a provider key. */
  readonly token: string;
  readonly format: ConfigFormat;
  readonly gatewayUrl: string;
  readonly privacyProxyUrl: string;
  readonly nats: { readonly url: string; readonly subjectPrefix: string; readonly nameSuffix: string };
  readonly sessionId: string;
  readonly contextId: string;
  readonly workspace: string;
  /** Put first on PATH: `orgmesh-mcp` (the rendered MCP command) and `orgmesh` (the rendered hooks). */
  readonly binDir: string;
}

/** Provider credentials the operator may have exported: an agent never sees them (ARCHITECTURE §5). */
const PROVIDER_SECRETS = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'OPENAI_API_KEY',
  'OPENAI_ORG_ID',
  'OPENAI_PROJECT_ID',
];

/**
 * The environment of an agent's command: the model endpoint is the privacy proxy and the credential
 * the agent's own token (the proxy takes it as a Bearer or an x-api-key); the orgmesh variables the
 * rendered MCP server config references (ORGMESH_AGENT_ID, ORGMESH_CLIENT_ID, ORGMESH_CLIENT_SECRET,
 * ORGMESH_GATEWAY_URL); the session it runs in; NATS for SDK-based agents.
 */
export function agentEnvironment(input: AgentEnvironmentInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.base)) if (value !== undefined) env[key] = value;
  for (const key of PROVIDER_SECRETS) delete env[key];

  env['ANTHROPIC_BASE_URL'] = input.privacyProxyUrl;
  // Claude Code and the Anthropic SDK send it as `Authorization: Bearer`.
  env['ANTHROPIC_AUTH_TOKEN'] = input.token;
  // Goose's Anthropic provider insists on an API key (sent as x-api-key); Claude Code would ask whether
  // to trust a custom key, so it only gets the auth token.
  if (input.format === 'goose') env['ANTHROPIC_API_KEY'] = input.token;
  // Claude Code sends these on every model call: the privacy proxy scopes its placeholders by the
  // workflow (issue 19) and ties its audit to the session. Other clients fall back to per-request scopes.
  env['ANTHROPIC_CUSTOM_HEADERS'] = [
    `${PRIVACY_CONTEXT_HEADER}: ${input.contextId}`,
    `${PRIVACY_SESSION_HEADER}: ${input.sessionId}`,
  ].join('\n');
  env['OPENAI_BASE_URL'] = `${input.privacyProxyUrl}/v1`;
  env['OPENAI_API_KEY'] = input.token;
  if (input.format === 'goose') env['XDG_CONFIG_HOME'] = `${input.workspace}/.config`;

  env['ORGMESH_AGENT_ID'] = input.agentId;
  env['ORGMESH_CLIENT_ID'] = input.clientId;
  env['ORGMESH_CLIENT_SECRET'] = input.clientSecret;
  env['ORGMESH_GATEWAY_URL'] = input.gatewayUrl;
  env['ORGMESH_PRIVACY_PROXY_URL'] = input.privacyProxyUrl;
  env['ORGMESH_TOKEN'] = input.token;
  env['ORGMESH_SESSION_ID'] = input.sessionId;
  env['ORGMESH_CONTEXT_ID'] = input.contextId;
  env['ORGMESH_WORKSPACE'] = input.workspace;
  env['NATS_URL'] = input.nats.url;
  if (input.nats.subjectPrefix) env['NATS_SUBJECT_PREFIX'] = input.nats.subjectPrefix;
  else delete env['NATS_SUBJECT_PREFIX'];
  if (input.nats.nameSuffix) env['NATS_NAME_SUFFIX'] = input.nats.nameSuffix;
  else delete env['NATS_NAME_SUFFIX'];

  env['PATH'] = [input.binDir, env['PATH']].filter(Boolean).join(delimiter);
  return env;
}
