import { AppError } from '@orgmesh/contracts';
import type { TokenVerifier, VerifiedToken } from '../auth/token-verifier.js';
import { callerToken } from '../http/http-io.js';
import type { Exchange } from './exchange.js';

/** Scope that allows `POST /v1/privacy/mask` (administrators may also use it). */
export const MASK_SCOPE = 'orgmesh:privacy-mask';
export const ADMIN_SCOPE = 'orgmesh:admin';

/** The caller's orgmesh token, verified; its role and agent go on the exchange's log line. */
export async function authenticate(verifier: TokenVerifier, x: Exchange): Promise<VerifiedToken> {
  const token = callerToken(x.req);
  if (!token)
    throw new AppError('unauthenticated', 'missing token: send your orgmesh token as Bearer or x-api-key');
  const verified = await verifier.verify(token);
  x.log['role'] = verified.role;
  x.log['agentId'] = verified.sub;
  return verified;
}
