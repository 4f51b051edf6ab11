import { ConfigError } from '@orgmesh/config';
import { oidcClientSettings } from '@orgmesh/agent-sdk';
import { agentTokenSource } from '../gateway/oidc.token-source.js';
import { loadRunnerConfig } from './runner.config.js';

export const AGENT_TOKEN_USAGE = '  orgmesh agent token';

export const AGENT_TOKEN_HELP = `orgmesh agent token: print a fresh access token of the agent (stdout, one line)

Usage:
${AGENT_TOKEN_USAGE}

For a model client that can ask a command for its credential each time it needs one, such as Claude
Code's apiKeyHelper setting (the registry renders it into .claude/settings.json; Claude Code re-runs it
every CLAUDE_CODE_API_KEY_HELPER_TTL_MS and after a 401): its model calls through the privacy proxy
then outlive any one token. Inside \`orgmesh agent run\` the environment already holds what it needs.

Environment: ORGMESH_CLIENT_ID (default ORGMESH_AGENT_ID) with ORGMESH_CLIENT_SECRET and
ORGMESH_GATEWAY_URL (the gateway's dev issuer), or ORGMESH_OIDC_* (an OpenID provider; docs/identity.md).

Exit codes: 0 printed; 1 the issuer refused the client; 2 no credentials configured; 69 the issuer
did not answer.`;

/** Thrown for missing configuration; the CLI reports it as a usage error (exit 2). */
export class AgentTokenUsageError extends Error {
  override readonly name = 'AgentTokenUsageError';
}

/**
 * `orgmesh agent token`: one token, fetched now from the same source `orgmesh agent run` uses. A new
 * process per call, so every call is fresh; the caller (Claude Code) caches it for its TTL.
 */
export async function printAgentToken(
  env: Readonly<Record<string, string | undefined>>,
  out: (line: string) => void,
): Promise<void> {
  const config = loadRunnerConfig(env);
  const clientId = config.clientId ?? env['ORGMESH_AGENT_ID']?.trim();
  const problems: Array<{ key: string; reason: string }> = [];
  const oidc = oidcClientSettings(config.oidc, clientId, problems);
  if (problems.length) throw new ConfigError('orgmesh', problems);
  if (!clientId && !oidc)
    throw new AgentTokenUsageError('set ORGMESH_AGENT_ID (or ORGMESH_CLIENT_ID), or ORGMESH_OIDC_*');
  if (!oidc && !config.clientSecret)
    throw new AgentTokenUsageError('set ORGMESH_CLIENT_SECRET, or ORGMESH_OIDC_* for an OpenID provider');
  const tokens = agentTokenSource({
    oidc,
    gatewayUrl: config.gatewayUrl,
    clientId: clientId ?? '',
    clientSecret: config.clientSecret,
    timeoutMs: config.rpcTimeoutMs,
  });
  out(await tokens.token());
}
