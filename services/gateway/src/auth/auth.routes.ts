import { z } from 'zod';
import { AppError } from '@orgmesh/contracts';
import { isJsonMediaType, mediaType, parseJsonBody, sendJson } from '@orgmesh/service-host/http-edge';
import { definePublicDocumentRoute, defineRawRoute, type RawRoute } from '../routes/route.js';
import type { DevIdentity } from './identity.js';
import { peopleLoginDiscovery, type PeopleLogin } from './people-login.js';

const TokenRequest = z.object({
  grant_type: z.literal('client_credentials'),
  client_id: z.string().min(1).max(200),
  client_secret: z.string().min(1).max(500),
  scope: z.string().max(500).optional(),
});

const TokenResponseSchema = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  scope: z.string(),
});

/** client_secret_basic: `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1). */
function basicCredentials(
  header: string | undefined,
): { client_id: string; client_secret: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return {
      client_id: decodeURIComponent(decoded.slice(0, colon)),
      client_secret: decodeURIComponent(decoded.slice(colon + 1)),
    };
  } catch {
    return undefined;
  }
}

/** The built-in issuer's endpoints (dev mode only): token, JWKS and discovery. */
export function devAuthRoutes(dev: DevIdentity, login?: PeopleLogin): RawRoute[] {
  return [tokenRoute(dev, login), jwksRoute(dev), discoveryRoute(dev, login)];
}

/**
 * The token endpoint: client_credentials for the dev clients and registry agents, and, with people's
 * sign-in, the authorization_code grant that redeems a person's code (the console's login).
 */
function tokenRoute(dev: DevIdentity, login: PeopleLogin | undefined): RawRoute {
  return defineRawRoute({
    operationId: 'issueToken',
    method: 'POST',
    path: '/v1/auth/token',
    tag: 'identity',
    summary: 'Get an access token (OAuth2 client_credentials, dev mode)',
    description:
      'Form or JSON body; client credentials in the body or as HTTP Basic. Dev clients: `admin` / `admin-dev-secret`, ' +
      '`viewer` / `viewer-dev-secret`, and `<agent-id>` / `<agent-id>-dev-secret` per registry agent. Not served in oidc mode. ' +
      'People of the org chart sign in at `GET /v1/auth/authorize` (the console); their code is redeemed here with ' +
      '`grant_type=authorization_code`, `code`, `redirect_uri`, `client_id` and the PKCE `code_verifier`.',
    access: 'public',
    requestBody: {
      contentTypes: ['application/x-www-form-urlencoded', 'application/json'],
      schema: TokenRequest,
    },
    responses: {
      200: { description: 'An access token', contentType: 'application/json', schema: TokenResponseSchema },
    },
    errors: [400, 401],
    async handle(req, res, ctx) {
      const fields = tokenFields(mediaType(req.headers['content-type']), await ctx.readBody());
      if (login && fields['grant_type'] === 'authorization_code') {
        sendJson(res, 200, await login.token(fields), { 'cache-control': 'no-store', pragma: 'no-cache' });
        return;
      }
      const request = clientCredentials(fields, basicCredentials(req.headers.authorization));
      const scopes = request.scope?.split(' ').filter(Boolean);
      const token = await dev.token(request.client_id, request.client_secret, scopes);
      sendJson(res, 200, token, { 'cache-control': 'no-store', pragma: 'no-cache' });
    },
  });
}

/** The token request's fields, from a form or a JSON body (an empty body without a type reads as `{}`). */
function tokenFields(type: string, raw: Buffer): Record<string, unknown> {
  if (type === 'application/x-www-form-urlencoded')
    return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  if (isJsonMediaType(type) || (type === '' && raw.length === 0)) {
    const parsed = parseJsonBody(raw);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  }
  throw new AppError('validation_failed', 'expected application/x-www-form-urlencoded or application/json', {
    details: {
      error: 'invalid_request',
      issues: [{ path: 'header.Content-Type', message: 'unsupported media type' }],
    },
  });
}

/**
 * A client_credentials request (HTTP Basic credentials win over the body's), checked with OAuth2's
 * error names in the details: another grant is unsupported_grant_type, a missing field invalid_request.
 */
function clientCredentials(
  body: Record<string, unknown>,
  basic: { client_id: string; client_secret: string } | undefined,
): z.infer<typeof TokenRequest> {
  const fields = basic ? { ...body, ...basic } : body;
  if (fields['grant_type'] !== undefined && fields['grant_type'] !== 'client_credentials') {
    throw new AppError('validation_failed', 'only the client_credentials grant is supported', {
      details: {
        error: 'unsupported_grant_type',
        issues: [{ path: 'body.grant_type', message: 'expected client_credentials' }],
      },
    });
  }
  const parsed = TokenRequest.safeParse(fields);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      path: ['body', ...i.path.map(String)].join('.'),
      message: i.message,
    }));
    throw new AppError(
      'validation_failed',
      `invalid token request: ${issues.map((i) => i.path).join(', ')}`,
      {
        details: { error: 'invalid_request', issues },
      },
    );
  }
  return parsed.data;
}

/** The built-in issuer's public keys, for verifiers that fetch them. */
function jwksRoute(dev: DevIdentity): RawRoute {
  return definePublicDocumentRoute({
    operationId: 'getJwks',
    path: '/.well-known/jwks.json',
    tag: 'identity',
    summary: "The built-in issuer's public keys (JWKS)",
    description: 'The signing key and any rotated key whose tokens may still be valid.',
    response: {
      description: 'JSON Web Key Set',
      schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
    },
    maxAgeSec: 60,
    document: async () => dev.issuer.jwks(),
  });
}

/** The built-in issuer's discovery document; with people's sign-in, it names the authorization endpoint too. */
function discoveryRoute(dev: DevIdentity, login: PeopleLogin | undefined): RawRoute {
  return definePublicDocumentRoute({
    operationId: 'getOpenIdConfiguration',
    path: '/.well-known/openid-configuration',
    tag: 'identity',
    summary: "The built-in issuer's discovery document",
    description:
      'OpenID Provider metadata of the dev issuer: `issuer`, `token_endpoint`, `jwks_uri`. Verifiers configured with ' +
      '`AUTH_ISSUER` find the keys here. Not served in oidc mode.',
    response: { description: 'OpenID Provider metadata', schema: z.record(z.string(), z.unknown()) },
    maxAgeSec: 300,
    document: async () => ({
      ...dev.issuer.openidConfiguration(),
      ...(login ? peopleLoginDiscovery(dev.issuer.issuer) : {}),
    }),
  });
}
