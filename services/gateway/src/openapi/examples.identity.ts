import type { OperationExample } from './examples.js';
import { JWT_EXAMPLE } from './examples.fixtures.js';

/** Who the caller is, and the built-in issuer's token, keys and discovery (whoami.route.ts, auth.routes.ts). */
export const IDENTITY_EXAMPLES: Readonly<Record<string, OperationExample>> = {
  whoami: {
    response: {
      subject: 'finance-agent',
      role: 'finance',
      kind: 'agent',
      tenant: 'default',
      scopes: ['orgmesh:agent'],
    },
  },
  issueToken: {
    request: { grant_type: 'client_credentials', client_id: 'admin', client_secret: 'admin-dev-secret' },
    response: { access_token: JWT_EXAMPLE, token_type: 'Bearer', expires_in: 3600, scope: 'orgmesh:admin' },
  },
  getJwks: {
    response: {
      keys: [
        {
          kty: 'EC',
          crv: 'P-256',
          kid: 'dev-1',
          use: 'sig',
          alg: 'ES256',
          x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
          y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
        },
      ],
    },
  },
  getOpenIdConfiguration: {
    response: {
      issuer: 'http://127.0.0.1:8080',
      token_endpoint: 'http://127.0.0.1:8080/v1/auth/token',
      jwks_uri: 'http://127.0.0.1:8080/.well-known/jwks.json',
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      id_token_signing_alg_values_supported: ['ES256'],
    },
  },
};
