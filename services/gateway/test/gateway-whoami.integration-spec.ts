import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { api, devToken, startTestGateway } from './gateway-harness.js';

// No service runs behind this gateway: whoami is answered by the gateway alone.
describe('GET /v1/auth/whoami', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;

  beforeAll(async () => {
    ctx = await createTestContext();
    gateway = await startTestGateway(ctx);
  });

  afterAll(async () => {
    await gateway?.close();
    await ctx?.dispose();
  });

  it('answers who the token is, without any service behind the gateway', async () => {
    const agent = await api(gateway, 'GET', '/v1/auth/whoami', {
      token: await devToken(gateway, 'finance-agent'),
    });
    expect(agent.status).toBe(200);
    expect(agent.headers.get('cache-control')).toBe('no-store');
    expect(agent.body).toEqual({
      subject: 'finance-agent',
      role: 'finance',
      kind: 'agent',
      tenant: 'default',
      scopes: ['orgmesh:agent'],
    });
    const viewer = await api(gateway, 'GET', '/v1/auth/whoami', { token: await devToken(gateway, 'viewer') });
    expect(viewer.body).toMatchObject({ subject: 'viewer', kind: 'viewer' });
  });

  it('is 401 without a token or with a tampered one', async () => {
    expect((await api(gateway, 'GET', '/v1/auth/whoami')).status).toBe(401);
    const token = await devToken(gateway, 'finance-agent');
    const tampered = `${token.slice(0, -4)}AAAA`;
    const refused = await api(gateway, 'GET', '/v1/auth/whoami', { token: tampered });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ code: 'unauthenticated' });
  });
});
