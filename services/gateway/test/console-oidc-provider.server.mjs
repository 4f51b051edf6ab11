// The OpenID provider of the console's sign-in test (npm oidc-provider, its own process for the
// reason libs/testing/src/oidc-provider.server.mjs gives): a public client with authorization code +
// PKCE, oidc-provider's own login pages (devInteractions: any user id, any password), JWT access
// tokens for the gateway's audience carrying scope orgmesh:person and role person. Configured over
// IPC: { port, audience, clientId, redirectUri }; answers { issuer }.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { Provider } from 'oidc-provider';

let server;

process.on('message', async (message) => {
  try {
    const { port, audience, clientId, redirectUri } = message;
    const issuer = `http://127.0.0.1:${port}`;
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const key = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'ES256', use: 'sig' };
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: [redirectUri],
        },
      ],
      jwks: { keys: [key] },
      clientDefaults: { id_token_signed_response_alg: 'ES256' },
      scopes: ['openid', 'orgmesh:person'],
      pkce: { required: () => true },
      // The console (another origin) redeems its code here from the browser.
      clientBasedCORS: () => true,
      findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
      features: {
        devInteractions: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: async () => audience,
          useGrantedResource: async () => true,
          getResourceServerInfo: async () => ({
            scope: 'orgmesh:person',
            audience,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }),
        },
      },
      // The identity contract of a person's token (issue 23): role person besides sub and scope.
      extraTokenClaims: async () => ({ role: 'person' }),
    });
    server = createServer(provider.callback());
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    process.send({ issuer });
  } catch (error) {
    process.send({ error: String(error?.stack ?? error) });
  }
});

process.on('SIGTERM', () => {
  server?.close();
  process.exit(0);
});
