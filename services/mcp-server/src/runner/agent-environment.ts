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
  /**
   * Goose: the runner's model relay (model-relay.ts), which swaps its run key for the current token on
   * each call. The model endpoints and keys in the environment name it instead of the privacy proxy.
   */
  readonly modelRelay?: { readonly url: string; readonly key: string };
  /**
   * Claude Code: how often it re-runs the rendered apiKeyHelper (CLAUDE_CODE_API_KEY_HELPER_TTL_MS),
   * unless the operator set it. Claude Code also re-runs it after a 401.
   */
  readonly apiKeyHelperTtlMs?: number;
}

/**
 * Provider credentials the operator may have exported: an agent never sees them (ARCHITECTURE §5); and
 * Goose's provider hosts, which would route its model calls around the privacy proxy.
 */
const PROVIDER_SECRETS = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'ANTHROPIC_HOST',
  'OPENAI_HOST',
  'OPENAI_API_KEY',
  'OPENAI_ORG_ID',
  'OPENAI_PROJECT_ID',
];

/**
 * The environment of an agent's command: the model endpoint is the privacy proxy and the credential
 * the agent's own token (the proxy takes it as a Bearer or an x-api-key), asked for by Claude Code
 * (apiKeyHelper) and swapped in by the runner's relay for Goose; the orgmesh variables the
 * rendered MCP server config references (ORGMESH_AGENT_ID, ORGMESH_CLIENT_ID, ORGMESH_CLIENT_SECRET,
 * ORGMESH_GATEWAY_URL); the session it runs in; NATS for SDK-based agents.
 */
export function agentEnvironment(input: AgentEnvironmentInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.base)) if (value !== undefined) env[key] = value;
  for (const key of PROVIDER_SECRETS) delete env[key];

  // Where model calls go and with what: the privacy proxy with the agent's token, except for Goose
  // behind the relay (its URL and run key; Goose reads its key once, the relay renews the token).
  const modelUrl = input.modelRelay?.url ?? input.privacyProxyUrl;
  const modelKey = input.modelRelay?.key ?? input.token;
  env['ANTHROPIC_BASE_URL'] = modelUrl;
  env['OPENAI_BASE_URL'] = `${modelUrl}/v1`;
  env['OPENAI_API_KEY'] = modelKey;
  if (input.format === 'claude-code') {
    // Claude Code asks the rendered apiKeyHelper (`orgmesh agent token`) for its credential; an
    // ANTHROPIC_AUTH_TOKEN or ANTHROPIC_API_KEY would take precedence over it and expire with the
    // first token. The helper is re-run every TTL (Claude Code's default is 5 min) and after a 401.
    if (input.apiKeyHelperTtlMs !== undefined && !input.base['CLAUDE_CODE_API_KEY_HELPER_TTL_MS'])
      env['CLAUDE_CODE_API_KEY_HELPER_TTL_MS'] = String(input.apiKeyHelperTtlMs);
  } else {
    // The Anthropic SDK and other clients send it as `Authorization: Bearer`.
    env['ANTHROPIC_AUTH_TOKEN'] = modelKey;
  }
  if (input.format === 'goose') {
    // Goose's Anthropic provider insists on an API key (sent as x-api-key). Goose reads a config key
    // from the environment before its config.yaml, so these override the rendered provider hosts
    // without changing the rendered (hashed) file.
    env['ANTHROPIC_API_KEY'] = modelKey;
    env['ANTHROPIC_HOST'] = modelUrl;
    env['OPENAI_HOST'] = modelUrl;
  }
  // Claude Code sends these on every model call: the privacy proxy scopes its placeholders by the
  // workflow (issue 19) and ties its audit to the session. Other clients fall back to per-request scopes.
  env['ANTHROPIC_CUSTOM_HEADERS'] = [
    `${PRIVACY_CONTEXT_HEADER}: ${input.contextId}`,
    `${PRIVACY_SESSION_HEADER}: ${input.sessionId}`,
  ].join('\n');
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
