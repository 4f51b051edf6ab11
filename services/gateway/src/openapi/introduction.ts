/**
 * orgmesh has no licence file and its package is private: the API description says so instead of
 * naming an open licence nobody granted (an SPDX `LicenseRef-` is how SPDX names a licence of one's
 * own). Change it here when the project chooses one.
 */
export const API_LICENSE = {
  name: 'Proprietary: no licence is granted (package.json is private)',
  identifier: 'LicenseRef-orgmesh-proprietary',
} as const;

export interface IntroductionOptions {
  serverUrl: string;
  /** The dev issuer's token endpoint; absent in oidc mode. */
  tokenUrl?: string;
}

/**
 * The reference's opening text (markdown; /docs renders its headings as navigation): what the API
 * is, how to get a first token in either identity mode, the first call, and the conventions every
 * operation shares.
 */
export function introduction({ serverUrl, tokenUrl }: IntroductionOptions): string {
  const dev = tokenUrl
    ? `This gateway runs the **built-in dev issuer** (\`AUTH_MODE=dev\`, what \`npm start\` runs). Its dev clients
and their secrets are printed when \`npm start\` starts: \`admin\` / \`admin-dev-secret\`, \`viewer\` /
\`viewer-dev-secret\`, and \`<agent-id>\` / \`<agent-id>-dev-secret\` for every agent of the registry. They are
for local development only.

\`\`\`sh
TOKEN=$(curl -s ${tokenUrl} \\
  -d grant_type=client_credentials -d client_id=admin -d client_secret=admin-dev-secret \\
  | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
\`\`\`

In the reference below, the token endpoint is **Identity → Get an access token**; its try-it panel returns
a token to paste as the bearer token of the other operations.`
    : `This gateway runs in **oidc mode** (\`AUTH_MODE=oidc\`): it serves no token endpoint. Get the token from
your OpenID provider with OAuth2 \`client_credentials\`.`;
  return `The public edge of orgmesh: sessions, the agent mesh (tasks, approvals, notifications), the registry and
the org chart, and lifecycle event subscriptions. Every operation is also described as JSON at
[/openapi.json](/openapi.json).

## First token, first call

Every operation except the token endpoint and the discovery documents takes a bearer token:
\`Authorization: Bearer <token>\`.

${dev}

**OIDC mode** (\`AUTH_MODE=oidc\`, the production overlay): register a confidential client per agent (and one
admin client) at your provider, allowed the \`client_credentials\` grant, whose tokens carry \`aud\` =
\`AUTH_AUDIENCE\`, one of the scopes \`orgmesh:admin\`, \`orgmesh:agent\` or \`orgmesh:read\`, the agent id
(\`sub\`) and its org role (\`role\`). Then ask the provider's token endpoint:

\`\`\`sh
TOKEN=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" https://id.example.com/realms/orgmesh/protocol/openid-connect/token \\
  -d grant_type=client_credentials -d scope=orgmesh:admin \\
  | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
\`\`\`

\`docs/identity.md\` in the repository has the claim mapping keys and a Keycloak recipe.

The first call, with either token:

\`\`\`sh
curl -s ${serverUrl}/v1/agents -H "Authorization: Bearer $TOKEN"
\`\`\`

## Conventions

- **Access.** Each operation lists who may call it in \`x-orgmesh-access\`: caller kinds \`admin\`, \`agent\`,
  \`viewer\`, or \`public\` (no token). Finer rules (an agent acts for its own role and its own sessions) are in
  the operation's description and answered with 403.
- **Errors** are \`application/problem+json\` (RFC 9457) with a stable \`code\`; validation errors name each
  field path in \`issues\`, illegal transitions carry \`currentState\` and \`allowedEvents\`. 429 and 503 carry
  \`Retry-After\`.
- **Idempotency.** Creates and transitions honour \`Idempotency-Key\`: the same key from the same caller returns
  the first result.
- **Paging.** Lists take \`limit\` (1–500) and \`cursor\`, and answer \`nextCursor\` (\`null\` on the last page).
- **Integers** in bodies are JSON numbers; versions and sequence numbers are at most 2^53 − 1.`;
}
