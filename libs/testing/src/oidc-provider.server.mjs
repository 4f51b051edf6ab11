// The OpenID provider of the tests (npm oidc-provider), in its own process: jest runs test files in a
// vm context whose structuredClone belongs to another realm, and oidc-provider's `constructor ===
// Object` checks then refuse every client; a separate process is also how a real provider runs.
// Driven over IPC by startOidcProvider (oidc-provider.ts): configure, rotate, suspend, resume, stats.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { Provider, errors } from 'oidc-provider';

let options;
let issuer;
let port;
let handler;
let tokenRequests = 0;
let jwksRequests = 0;
const keys = [];
const sockets = new Set();

async function signingKey() {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'ES256', use: 'sig' };
}

function build() {
  const claimsOf = new Map(options.clients.map((c) => [c.clientId, c.claims]));
  const ttl = options.accessTokenTtlSec ?? 300;
  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      ...(c.clientSecret ? { client_secret: c.clientSecret } : {}),
      ...(c.publicJwk ? { jwks: { keys: [c.publicJwk] } } : {}),
      token_endpoint_auth_method: c.tokenEndpointAuthMethod,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: c.scope,
    })),
    // The newest key signs; the older ones stay published (rotation with overlap).
    jwks: { keys: [...keys].reverse() },
    // Only ES256 keys exist here; the default RS256 would make every client's metadata invalid.
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    scopes: ['openid', 'orgmesh:agent', 'orgmesh:admin', 'orgmesh:read'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => options.audience,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => {
          if (resource !== options.audience) throw new errors.InvalidTarget();
          return {
            scope: 'orgmesh:agent orgmesh:admin orgmesh:read',
            audience: options.audience,
            accessTokenTTL: ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    extraTokenClaims: async (_ctx, token) => (token.clientId ? claimsOf.get(token.clientId) : undefined),
  });
  provider.use(async (ctx, next) => {
    if (ctx.path === '/token' && ctx.method === 'POST') tokenRequests++;
    if (ctx.path === '/jwks') jwksRequests++;
    await next();
  });
  return provider.callback();
}

const server = createServer((req, res) => handler(req, res));
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
});
const listen = () =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
const stop = () =>
  new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });

const commands = {
  async configure(message) {
    options = message.options;
    port = message.port;
    issuer = `http://127.0.0.1:${port}`;
    keys.push(await signingKey());
    handler = build();
    await listen();
    return { issuer };
  },
  async rotate() {
    keys.push(await signingKey());
    handler = build();
    return { kid: keys.at(-1).kid };
  },
  async suspend() {
    await stop();
    return {};
  },
  async resume() {
    if (!server.listening) await listen();
    return {};
  },
  async stats() {
    return { tokenRequests, jwksRequests, kid: keys.at(-1).kid };
  },
};

process.on('message', (message) => {
  commands[message.command](message).then(
    (result) => process.send({ id: message.id, result }),
    (error) => process.send({ id: message.id, error: String(error?.message ?? error) }),
  );
});
// The test process going away takes the provider with it.
process.on('disconnect', () => process.exit(0));
