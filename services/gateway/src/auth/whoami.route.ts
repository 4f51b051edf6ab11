import { z } from 'zod';
import { CALLER_KINDS } from '@orgmesh/auth';
import { ALL_KINDS, defineRawRoute, type RawRoute } from '../routes/route.js';

const WhoAmI = z.object({
  subject: z.string().describe('The token subject: the agent id, or the user/client id'),
  role: z.string(),
  kind: z.enum(CALLER_KINDS).describe('What the caller is to the access rules'),
  tenant: z.string(),
  scopes: z.array(z.string()),
});

/**
 * `GET /v1/auth/whoami`: the verified caller as the gateway sees it, answered by the gateway alone
 * (no service behind it). Clients check their credentials with it at start (orgmesh-mcp does) and
 * see which identity a token maps to (claim mapping in oidc mode).
 */
export const whoamiRoute: RawRoute = defineRawRoute({
  operationId: 'whoami',
  method: 'GET',
  path: '/v1/auth/whoami',
  tag: 'identity',
  summary: 'The caller of this token, as the gateway sees it',
  description:
    'Verifies the bearer token exactly as every other route does and answers who it is: subject, role, ' +
    'caller kind, tenant and scopes. No service is called: a cheap credential check for a client at start.',
  // A signed-in person too (issue 23): the console reads who signed in.
  access: [...ALL_KINDS, 'person'],
  responses: { 200: { description: 'The caller', contentType: 'application/json', schema: WhoAmI } },
  errors: [401, 403],
  async handle(req, res, ctx) {
    req.resume();
    const caller = ctx.caller;
    if (!caller) throw new Error('whoami requires a caller');
    const text = JSON.stringify({
      subject: caller.subject,
      role: caller.role,
      kind: caller.kind,
      tenant: caller.principal.tenant,
      scopes: caller.principal.scopes,
    });
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : text);
  },
});
