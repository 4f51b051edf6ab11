import { currentSession, signOut } from './auth';
import { ApiError, toProblem } from './problem';

/** Called when the gateway says the token is no good any more (401): the app shows the sign-in. */
let onUnauthenticated: (refusal: ApiError) => void = () => {};
export function whenSignedOut(handler: (refusal: ApiError) => void): void {
  onUnauthenticated = handler;
}

/** JSON over the gateway's REST API with the person's token; a refusal throws its problem. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const session = currentSession();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (session) headers['authorization'] = `Bearer ${session.accessToken}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['idempotency-key'] = crypto.randomUUID();
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: kept as text for the problem.
  }
  if (!res.ok) {
    const refusal = new ApiError(toProblem(res.status, parsed));
    if (res.status === 401) {
      // The token is no good any more (expired, or the issuer restarted with new keys): sign in again.
      signOut();
      onUnauthenticated(refusal);
    }
    throw refusal;
  }
  return parsed as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});
