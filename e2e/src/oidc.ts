import type { Credentials } from './scenario.js';

/** The API audience of the demo's OpenID provider (`AUTH_AUDIENCE`, the tokens' `aud`). */
export const DEMO_OIDC_AUDIENCE = 'urn:orgmesh:api';

/** A client of the demo's provider, in the shape `startOidcProvider` (libs/testing) registers. */
export interface DemoOidcClient {
  clientId: string;
  clientSecret: string;
  tokenEndpointAuthMethod: 'client_secret_basic';
  scope: string;
  claims: Record<string, unknown>;
}

/**
 * Who takes part in the demo in OIDC mode, registered as a provider would be (docs/identity.md):
 * one confidential client per agent, allowed `orgmesh:agent`, with its org role as a claim; the
 * Finance person who hands Finance its task; and an admin client that observes the run.
 */
export function demoOidcClients(secret: string): DemoOidcClient[] {
  const client = (clientId: string, role: string, scope = 'orgmesh:agent'): DemoOidcClient => ({
    clientId,
    clientSecret: secret,
    tokenEndpointAuthMethod: 'client_secret_basic',
    scope,
    claims: { role, tenant: 'default' },
  });
  return [
    client('finance-agent', 'finance'),
    client('manager-agent', 'manager'),
    client('legal-agent', 'legal'),
    // The demo's Claude Code step (scenario.ts claudeCodeAgent): an agent on an Anthropic model.
    client('contracts-agent', 'legal'),
    client('finance-lead', 'finance'),
    client('admin', 'admin', 'orgmesh:admin'),
  ];
}

/**
 * A token by OAuth2 client_credentials from an OpenID provider: the token endpoint from its discovery
 * document, the secret as client_secret_basic, the scope asked for (providers grant none unless asked).
 */
export async function clientCredentialsToken(
  issuer: string,
  credentials: Credentials,
  scope: string,
): Promise<string> {
  const discovery = await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
  if (!discovery.ok)
    throw new Error(`the OpenID provider ${issuer} has no discovery document (${discovery.status})`);
  const { token_endpoint: tokenEndpoint } = (await discovery.json()) as { token_endpoint: string };
  const basic = Buffer.from(
    `${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`,
  ).toString('base64');
  const res = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  if (!res.ok)
    throw new Error(`the OpenID provider refused the credentials of ${credentials.clientId} (${res.status})`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** The scenario's token function in OIDC mode: admin scope for `admin`, agent scope for the rest. */
export function oidcScenarioTokens(issuer: string): (credentials: Credentials) => Promise<string> {
  return (credentials) =>
    clientCredentialsToken(
      issuer,
      credentials,
      credentials.clientId === 'admin' ? 'orgmesh:admin' : 'orgmesh:agent',
    );
}
