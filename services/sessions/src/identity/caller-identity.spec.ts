import { describe, expect, it } from '@jest/globals';
import { createJwtVerifier, LocalIssuer } from '@orgmesh/auth';
import { AppError } from '@orgmesh/contracts';
import { CallerIdentity } from './caller-identity.js';

async function setup() {
  const issuer = await LocalIssuer.create();
  const refused: string[] = [];
  const identity = new CallerIdentity(
    createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks }),
    (code) => refused.push(code),
  );
  const of = async (scope: string, sub = 'finance-agent', role = 'finance') =>
    identity.of({ authorization: `Bearer ${await issuer.sign({ sub, role, scope })}`, headers: {} } as never);
  return { identity, refused, of };
}

describe('CallerIdentity', () => {
  it('takes agent id and role from the token, with admin > agent > viewer', async () => {
    const { of } = await setup();
    expect(await of('orgmesh:agent')).toEqual({ agentId: 'finance-agent', role: 'finance', kind: 'agent', seesAll: false });
    expect((await of('orgmesh:agent orgmesh:read')).kind).toBe('agent');
    expect(await of('orgmesh:read', 'dashboard', 'viewer')).toMatchObject({ kind: 'viewer', seesAll: true });
    expect(await of('orgmesh:admin orgmesh:read', 'ops', 'admin')).toMatchObject({ kind: 'admin', seesAll: true });
  });

  it('refuses a missing token as unauthenticated and a token without an orgmesh scope as forbidden, counting both', async () => {
    const { identity, refused, of } = await setup();
    await expect(identity.of({ headers: {} } as never)).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(of('openid profile')).rejects.toBeInstanceOf(AppError);
    await expect(of('openid profile')).rejects.toMatchObject({ code: 'forbidden' });
    expect(refused).toEqual(['unauthenticated', 'forbidden', 'forbidden']);
  });
});
