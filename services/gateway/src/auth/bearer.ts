import { AppError } from '@orgmesh/contracts';

/** `Bearer <token>`, the scheme matched case-insensitively (RFC 7235 §2.1), one or more spaces. */
const BEARER = /^bearer +(\S+) *$/i;

/**
 * The token of an `Authorization` header (REST) or `authorization` metadata (gRPC). Anything but
 * the Bearer scheme is `unauthenticated`: a bare token is refused rather than guessed at, so a
 * client that forgot the scheme learns it here instead of from a proxy that forwards only Bearer.
 */
export function bearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization.trim() === '') {
    throw new AppError('unauthenticated', 'missing bearer token');
  }
  const match = BEARER.exec(authorization);
  if (!match?.[1]) {
    throw new AppError('unauthenticated', 'the authorization header must use the Bearer scheme: "Bearer <token>"');
  }
  return match[1];
}
