import { AppError } from '@orgmesh/contracts';
import type { TokenVerifier, VerifiedToken } from './token-verifier.js';

/**
 * The caller of one of the proxy's NATS RPCs: the JWT the gateway or the agent forwarded in the
 * `authorization` header, verified here as every service verifies for itself. `what` names the RPC
 * in the refusal when no token came (`usage is read with a token`, …).
 */
export async function forwardedCaller(
  verifier: TokenVerifier,
  authorization: string | undefined,
  what: string,
): Promise<VerifiedToken> {
  const token = authorization?.replace(/^Bearer\s+/i, '').trim();
  if (!token) throw new AppError('unauthenticated', `${what}: none was forwarded`);
  return verifier.verify(token);
}
