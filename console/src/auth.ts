import { randomVerifier, s256Challenge } from './pkce';
import { ApiError, toProblem } from './problem';

/**
 * Where the console signs people in, as the gateway says (`GET /console/config.json`): its built-in
 * issuer in dev mode, the organisation's OpenID provider in oidc mode.
 */
interface SignInConfig {
  mode: 'dev' | 'oidc';
  authorizationEndpoint: string;
  tokenEndpoint: string;
  clientId: string;
  scope: string;
}

async function signInConfig(): Promise<SignInConfig> {
  const res = await fetch('/console/config.json');
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) throw new ApiError(toProblem(res.status, body));
  return body as SignInConfig;
}
const PENDING = 'orgmesh.console.pkce';
const TOKEN = 'orgmesh.console.token';

export interface Session {
  accessToken: string;
  expiresAt: number;
  /** The person's directory user id (the token's `sub`). */
  subject: string;
  role: string;
  scopes: string[];
}

export function redirectUri(): string {
  return `${location.origin}/console/`;
}

function claims(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  try {
    return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * The signed-in session of this tab. Kept in sessionStorage (this tab only, gone when it closes);
 * the page's CSP allows no script but the console's own, which is what protects it.
 */
export function currentSession(): Session | undefined {
  const raw = sessionStorage.getItem(TOKEN);
  if (!raw) return undefined;
  try {
    const session = JSON.parse(raw) as Session;
    if (session.expiresAt > Date.now() + 5_000) return session;
  } catch {
    // A damaged entry is a signed-out tab.
  }
  sessionStorage.removeItem(TOKEN);
  return undefined;
}

/**
 * Whether this tab is signed in as a person of the org chart (scope orgmesh:person, no operator
 * scope): the gateway lets a person reach their approvals only, so the operator pages say so.
 */
export function signedInAsPerson(session: Session | undefined = currentSession()): boolean {
  const scopes = session?.scopes ?? [];
  return (
    scopes.includes('orgmesh:person') &&
    !scopes.some((s) => ['orgmesh:admin', 'orgmesh:read', 'orgmesh:agent'].includes(s))
  );
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN);
}

/** Starts the authorization code flow: to the issuer's sign-in page, back to /console/ with a code. */
export async function signIn(): Promise<void> {
  const config = await signInConfig();
  const verifier = randomVerifier();
  const state = randomVerifier();
  const pending = {
    verifier,
    state,
    returnTo: location.hash,
    tokenEndpoint: config.tokenEndpoint,
    clientId: config.clientId,
  };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const target = new URL(config.authorizationEndpoint, location.origin);
  const query = {
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    code_challenge: await s256Challenge(verifier),
    code_challenge_method: 'S256',
    state,
    scope: config.scope,
  };
  for (const [key, value] of Object.entries(query)) target.searchParams.set(key, value);
  location.assign(target.toString());
}

/**
 * Finishes a sign-in when the page is the redirect back (`?code=…&state=…`): checks the state,
 * redeems the code with the verifier, and cleans the address bar. Undefined when it is no redirect.
 */
export async function completeSignIn(): Promise<Session | undefined> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (!code && !error) return undefined;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as {
    verifier: string;
    state: string;
    returnTo: string;
    tokenEndpoint: string;
    clientId: string;
  } | null;
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', `/console/${pending?.returnTo ?? ''}`);
  if (error) {
    throw new ApiError({
      title: 'Sign-in refused',
      status: 400,
      detail: params.get('error_description') ?? error,
    });
  }
  if (!pending || pending.state !== params.get('state')) {
    throw new ApiError({
      title: 'Sign-in refused',
      status: 400,
      detail: 'the sign-in answer does not belong to this tab; sign in again',
    });
  }
  const res = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code ?? '',
      redirect_uri: redirectUri(),
      client_id: pending.clientId,
      code_verifier: pending.verifier,
    }).toString(),
  });
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) throw new ApiError(toProblem(res.status, body));
  const token = body as { access_token: string; expires_in: number };
  const c = claims(token.access_token);
  const session: Session = {
    accessToken: token.access_token,
    expiresAt: Date.now() + token.expires_in * 1000,
    subject: String(c['sub'] ?? ''),
    role: String(c['role'] ?? ''),
    scopes: String(c['scope'] ?? '')
      .split(' ')
      .filter(Boolean),
  };
  sessionStorage.setItem(TOKEN, JSON.stringify(session));
  return session;
}
