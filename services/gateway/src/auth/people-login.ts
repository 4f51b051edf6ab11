import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { AppError } from '@orgmesh/contracts';
import { SCOPES, type TokenResponse } from '@orgmesh/auth';
import type { Logger } from '@orgmesh/telemetry';
import { mediaType } from '@orgmesh/service-host/http-edge';
import { defineRawRoute, type RawRoute } from '../routes/route.js';
import {
  AuthorizationCodes,
  CODE_CHALLENGE,
  consoleClient,
  type PublicClient,
} from './authorization-codes.js';
import type { DevIdentity } from './identity.js';
import { DEV_OPERATOR, DevPeople, readOrgChartPeople, type DevPerson } from './people.js';
import { findDemoRegistryDir } from './dev-clients.js';

/** The role claim of a person's token (the identity contract of issue 23). */
export const PERSON_ROLE = 'person';

/**
 * Interactive sign-in of the org chart's people at the built-in issuer (dev mode only): OAuth 2.0
 * authorization code with PKCE S256 for public clients (the console). Production signs people in
 * at the external OpenID provider instead.
 */
export interface PeopleLogin {
  readonly people: DevPeople;
  readonly codes: AuthorizationCodes;
  readonly clients: ReadonlyMap<string, PublicClient>;
  /** grant_type=authorization_code at the token endpoint. */
  token(fields: Record<string, unknown>): Promise<TokenResponse>;
  close(): void;
}

export interface PeopleOptions {
  /** Replaces the people of the registry directory's org chart (tests). */
  people?: readonly DevPerson[];
  /** Fixed passwords by user id (tests); everyone else gets a random one. */
  passwords?: ReadonlyMap<string, string>;
}

export function loadDevPeople(
  registryDir: string | undefined,
  logger: Logger,
  options: PeopleOptions = {},
): DevPeople {
  const dir = registryDir ?? findDemoRegistryDir();
  const people = options.people ?? (dir ? readOrgChartPeople(dir) : []);
  if (!people.length) logger.warn({}, 'dev issuer: no org chart found; nobody can sign in to the console');
  // The operator account signs in like the people (its own random password, printed first); an org
  // chart that names someone `operator` keeps that person and goes without it.
  const withOperator = people.some((p) => p.id === DEV_OPERATOR.id) ? people : [DEV_OPERATOR, ...people];
  return new DevPeople(withOperator, options.passwords);
}

const CodeTokenRequest = z.object({
  grant_type: z.literal('authorization_code'),
  code: z.string().min(1).max(200),
  redirect_uri: z.string().min(1).max(2000),
  client_id: z.string().min(1).max(200),
  code_verifier: z.string().min(1).max(200),
});

function invalidRequest(
  message: string,
  issues: Array<{ path: string; message: string }>,
  error = 'invalid_request',
): AppError {
  return new AppError('validation_failed', message, { details: { error, issues } });
}

export function createPeopleLogin(dev: DevIdentity, publicUrl: string, people: DevPeople): PeopleLogin {
  const codes = new AuthorizationCodes();
  const consoleApp = consoleClient(publicUrl);
  const clients = new Map([[consoleApp.clientId, consoleApp]]);
  return {
    people,
    codes,
    clients,
    async token(fields) {
      const parsed = CodeTokenRequest.safeParse(fields);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({
          path: ['body', ...i.path.map(String)].join('.'),
          message: i.message,
        }));
        throw invalidRequest(`invalid token request: ${issues.map((i) => i.path).join(', ')}`, issues);
      }
      const request = parsed.data;
      if (!clients.has(request.client_id)) {
        throw new AppError('unauthenticated', 'unknown public client', {
          details: { error: 'invalid_client' },
        });
      }
      const grant = codes.redeem({
        code: request.code,
        clientId: request.client_id,
        redirectUri: request.redirect_uri,
        codeVerifier: request.code_verifier,
      });
      const person = people.get(grant.personId);
      if (!person)
        throw new AppError('validation_failed', 'the person is no longer in the org chart', {
          details: { error: 'invalid_grant' },
        });
      // The operator's token is an admin's (as the admin dev client's); a person's says only who they are.
      return dev.issuer.issue(
        person.operator
          ? { sub: person.id, role: 'admin', scopes: [SCOPES.admin, SCOPES.read], clientId: grant.clientId }
          : { sub: person.id, role: PERSON_ROLE, scopes: [SCOPES.person], clientId: grant.clientId },
      );
    },
    close: () => codes.close(),
  };
}

const AuthorizeQuery = z.object({
  response_type: z.string().optional().describe('`code`'),
  client_id: z.string().optional().describe('`orgmesh-console`'),
  redirect_uri: z.string().optional().describe('Exactly as registered: `<gateway>/console/`'),
  code_challenge: z.string().optional().describe('BASE64URL(SHA256(code_verifier))'),
  code_challenge_method: z.string().optional().describe('`S256` (plain is refused)'),
  state: z.string().optional().describe('Returned unchanged with the code'),
  scope: z.string().optional(),
});

interface ValidAuthorization {
  client: PublicClient;
  redirectUri: string;
  codeChallenge: string;
  state: string | undefined;
}

/**
 * Checks an authorization request. An unknown client or a redirect URI it did not register is
 * answered here (400, never redirected: RFC 6749 §4.1.2.1, an open redirector otherwise); the other
 * problems go back to the client at its redirect URI as `error=…` with the state.
 */
function checkAuthorization(
  login: PeopleLogin,
  params: URLSearchParams,
): { ok: ValidAuthorization } | { redirect: string } {
  const clientId = params.get('client_id') ?? '';
  const client = login.clients.get(clientId);
  if (!client) {
    throw invalidRequest(
      `unknown client_id "${clientId.slice(0, 100)}"`,
      [{ path: 'query.client_id', message: 'not a registered public client' }],
      'invalid_client',
    );
  }
  const redirectUri = params.get('redirect_uri') ?? '';
  if (!client.redirectUris.includes(redirectUri)) {
    throw invalidRequest(`redirect_uri is not registered for ${client.clientId}`, [
      { path: 'query.redirect_uri', message: `expected one of ${client.redirectUris.join(', ')}` },
    ]);
  }
  const state = params.get('state') ?? undefined;
  const back = (error: string, description: string) => {
    const url = new URL(redirectUri);
    url.searchParams.set('error', error);
    url.searchParams.set('error_description', description);
    if (state !== undefined) url.searchParams.set('state', state);
    return { redirect: url.toString() };
  };
  if (params.get('response_type') !== 'code')
    return back('unsupported_response_type', 'response_type must be code');
  if (params.get('code_challenge_method') !== 'S256') {
    return back('invalid_request', 'PKCE is required: code_challenge_method must be S256');
  }
  const codeChallenge = params.get('code_challenge') ?? '';
  if (!CODE_CHALLENGE.test(codeChallenge)) {
    return back('invalid_request', 'code_challenge must be a base64url SHA-256 (43 characters)');
  }
  if (state !== undefined && state.length > 500)
    return back('invalid_request', 'state is longer than 500 characters');
  return { ok: { client, redirectUri, codeChallenge, state } };
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** The sign-in page: server-rendered, no script, posts back to itself with the request's parameters. */
export function renderLoginPage(
  auth: ValidAuthorization,
  options: { error?: string; login?: string } = {},
): string {
  const hidden = (name: string, value: string | undefined) =>
    value === undefined ? '' : `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Sign in — orgmesh</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:Canvas;color:CanvasText}
main{width:min(22rem,calc(100vw - 2rem))}
h1{font-size:1.4rem}
label{display:block;margin-top:1rem}
input{width:100%;box-sizing:border-box;font:inherit;padding:.5rem;margin-top:.25rem}
button{margin-top:1.25rem;font:inherit;padding:.5rem 1.25rem;cursor:pointer}
:focus-visible{outline:3px solid #4c8dff;outline-offset:2px}
.error{color:#c62828;border:1px solid currentColor;padding:.5rem;border-radius:4px}
@media (prefers-color-scheme:dark){.error{color:#ff8a80}}
small{opacity:.75}
</style>
</head>
<body>
<main>
<h1>Sign in to orgmesh</h1>
<p><small>Development sign-in for the people of the org chart. The passwords were printed when the gateway started.</small></p>
${options.error ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>` : ''}
<form method="post" action="/v1/auth/authorize">
${hidden('response_type', 'code')}${hidden('client_id', auth.client.clientId)}${hidden('redirect_uri', auth.redirectUri)}${hidden('code_challenge', auth.codeChallenge)}${hidden('code_challenge_method', 'S256')}${hidden('state', auth.state)}
<label for="login">User id or email</label>
<input id="login" name="login" autocomplete="username" required autofocus value="${escapeHtml(options.login ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`;
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // The page runs no script and is never framed (clickjacking of a password form).
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

function sendPage(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { ...PAGE_HEADERS, 'content-length': Buffer.byteLength(html) });
  res.end(html);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, {
    location,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'content-length': 0,
  });
  res.end();
}

async function formFields(req: IncomingMessage, readBody: () => Promise<Buffer>): Promise<URLSearchParams> {
  const raw = await readBody();
  if (mediaType(req.headers['content-type']) !== 'application/x-www-form-urlencoded') {
    throw invalidRequest('expected application/x-www-form-urlencoded', [
      { path: 'header.Content-Type', message: 'unsupported media type' },
    ]);
  }
  return new URLSearchParams(raw.toString('utf8'));
}

/** GET and POST /v1/auth/authorize: the sign-in form and its submission. */
export function peopleLoginRoutes(login: PeopleLogin): RawRoute[] {
  return [
    defineRawRoute({
      operationId: 'authorize',
      method: 'GET',
      path: '/v1/auth/authorize',
      tag: 'identity',
      summary: 'Sign a person in (OAuth2 authorization code + PKCE, dev mode)',
      description:
        "The sign-in page of the org chart's people for public clients (the console, `client_id=orgmesh-console`, " +
        '`redirect_uri=<gateway>/console/`). PKCE S256 is required. After sign-in the browser is redirected to ' +
        '`redirect_uri?code=…&state=…`; the code is redeemed once at `POST /v1/auth/token` with ' +
        '`grant_type=authorization_code` and the `code_verifier`, for a token with scope `orgmesh:person`, ' +
        '`sub` = the user id and `role` = `person`. Dev passwords are printed at start. Not served in oidc mode.',
      access: 'public',
      query: AuthorizeQuery,
      responses: {
        200: { description: 'The sign-in form', contentType: 'text/html' },
        303: {
          description: 'Back to the client with `error=…` (a bad request after the redirect URI was checked)',
        },
      },
      errors: [400],
      async handle(req, res, ctx) {
        req.resume();
        const checked = checkAuthorization(login, ctx.url.searchParams);
        if ('redirect' in checked) return redirect(res, checked.redirect);
        sendPage(res, 200, renderLoginPage(checked.ok));
      },
    }),
    defineRawRoute({
      operationId: 'authorizeSubmit',
      method: 'POST',
      path: '/v1/auth/authorize',
      tag: 'identity',
      summary: 'Submit the sign-in form (dev mode)',
      description:
        'The form of `GET /v1/auth/authorize`: its parameters plus `login` (user id or email) and `password`. Right ' +
        'credentials → 303 to `redirect_uri?code=…&state=…` (a single-use code, valid one minute); wrong ones → the form ' +
        'again with 401.',
      access: 'public',
      requestBody: {
        contentTypes: ['application/x-www-form-urlencoded'],
        schema: AuthorizeQuery.extend({ login: z.string(), password: z.string() }),
      },
      responses: {
        303: { description: 'To the client with the code' },
        401: { description: 'The form again: wrong user id or password', contentType: 'text/html' },
      },
      errors: [400],
      async handle(req, res, ctx) {
        const fields = await formFields(req, ctx.readBody);
        const checked = checkAuthorization(login, fields);
        if ('redirect' in checked) return redirect(res, checked.redirect);
        const auth = checked.ok;
        const who = (fields.get('login') ?? '').slice(0, 320);
        const person = login.people.authenticate(who, fields.get('password') ?? '');
        if (!person)
          return sendPage(
            res,
            401,
            renderLoginPage(auth, { error: 'Wrong user id or password.', login: who }),
          );
        const code = login.codes.issue({
          clientId: auth.client.clientId,
          redirectUri: auth.redirectUri,
          codeChallenge: auth.codeChallenge,
          personId: person.id,
        });
        const url = new URL(auth.redirectUri);
        url.searchParams.set('code', code);
        if (auth.state !== undefined) url.searchParams.set('state', auth.state);
        redirect(res, url.toString());
      },
    }),
  ];
}

/** What the discovery document adds when people sign in at the built-in issuer. */
export function peopleLoginDiscovery(issuer: string): Record<string, unknown> {
  return {
    authorization_endpoint: `${issuer}/v1/auth/authorize`,
    grant_types_supported: ['client_credentials', 'authorization_code'],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'none'],
    scopes_supported: ['orgmesh:admin', 'orgmesh:agent', 'orgmesh:read', 'orgmesh:person'],
  };
}
