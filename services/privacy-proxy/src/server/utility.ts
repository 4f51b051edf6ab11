import { AppError } from '@orgmesh/contracts';
import { parseJsonBody, readBody } from '../http/http-io.js';
import { sendJson } from '@orgmesh/service-host/http-edge';
import { ADMIN_SCOPE, authenticate, MASK_SCOPE } from './authenticate.js';
import type { ProxyContext } from './context.js';
import { workflowOf, type Exchange } from './exchange.js';

/** `POST /v1/privacy/scan` and `/v1/privacy/mask`: detection (and masking) on request, by a profile. */
export async function utility(ctx: ProxyContext, x: Exchange): Promise<void> {
  if (x.req.method !== 'POST') throw new AppError('not_found', 'use POST');
  const verified = await authenticate(ctx.options.verifier, x);
  const isAdmin = verified.scopes.includes(ADMIN_SCOPE);
  if (x.route === 'privacy.mask' && !isAdmin && !verified.scopes.includes(MASK_SCOPE)) {
    throw new AppError('forbidden', `masking on request needs the ${MASK_SCOPE} scope`);
  }
  const input = parseJsonBody(await readBody(x.req, ctx.maxBody)) as { text?: unknown; role?: unknown };
  if (typeof input !== 'object' || input === null || typeof input.text !== 'string') {
    throw new AppError('validation_failed', 'expected {"text": string, "role"?: string}', {
      details: { issues: [{ path: 'text', message: 'required string' }] },
    });
  }
  if (input.role !== undefined && input.role !== verified.role && !isAdmin)
    throw new AppError('forbidden', "only administrators may use another role's profile");
  const role = typeof input.role === 'string' ? input.role : verified.role;
  // The caller's own profile (its agent's, where the registry names one); another role's: its default.
  const privacy = await ctx.engine.forCaller(
    role === verified.role ? verified : { role },
    verified.tenant,
    workflowOf(x.req),
  );
  const detector = await ctx.engine.detector(privacy.profile);
  const entities = (await detector.detectAsync(input.text)).map(({ type, start, end, score }) => ({
    type,
    start,
    end,
    score,
  }));
  if (x.route === 'privacy.scan') {
    sendJson(x.res, 200, { role, entities });
    return;
  }
  const [text] = await privacy.session.processAllAsync([input.text]);
  sendJson(x.res, 200, {
    role,
    text,
    entities,
    counts: privacy.session.counts,
    masked: privacy.session.masked,
  });
}
