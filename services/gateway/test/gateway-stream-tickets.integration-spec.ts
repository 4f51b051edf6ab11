import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Session } from '@orgmesh/contracts';
import { OidcTokenSource } from '@orgmesh/agent-sdk';
import { createTestContext, expectEventually, startOidcProvider, type TestContext } from '@orgmesh/testing';
import { startTestSessions } from '@orgmesh/sessions/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { api, devToken, SseClient, startTestGateway } from './gateway-harness.js';

type SessionsApp = Awaited<ReturnType<typeof startTestSessions>>;

const AUDIENCE = 'urn:orgmesh:api';
const SECRET = `secret-${randomBytes(8).toString('hex')}`;

/*
 * A browser's EventSource sends no Authorization header: these streams are opened with no header at
 * all (SseClient without a token sends only `Accept: text/event-stream`), the ticket in the URL.
 */
describe('POST /v1/events/tickets and GET /v1/events?ticket= (EventSource without headers)', () => {
  let ctx: TestContext;
  let sessions: SessionsApp;
  let gateway: GatewayApp;
  let finance: string;
  let legal: string;
  const clients: SseClient[] = [];
  const key = randomBytes(32).toString('base64');

  const ticketFor = async (app: GatewayApp, token: string) => {
    const res = await api<{ ticket: string; expiresAt: string }>(app, 'POST', '/v1/events/tickets', {
      token,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    return res.body;
  };
  const openWithTicket = async (app: GatewayApp, ticket: string, query = '') => {
    const client = await SseClient.open(app, `/v1/events?ticket=${encodeURIComponent(ticket)}${query}`);
    clients.push(client);
    return client;
  };
  const refusal = (client: SseClient) =>
    JSON.parse(client.frames[0]?.data ?? '{}') as Record<string, unknown>;

  beforeAll(async () => {
    ctx = await createTestContext();
    sessions = await startTestSessions(ctx);
    gateway = await startTestGateway(ctx, { GATEWAY_STREAM_TICKET_KEY: key });
    [finance, legal] = await Promise.all([
      devToken(gateway, 'finance-agent'),
      devToken(gateway, 'legal-agent'),
    ]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await gateway?.close();
    await sessions?.close();
    await ctx?.dispose();
  });

  it("opens the caller's stream once, with the caller's visibility; the second use is 401 stream_ticket_used", async () => {
    const issued = await ticketFor(gateway, finance);
    const expiresIn = Date.parse(issued.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(20_000);
    expect(expiresIn).toBeLessThanOrEqual(30_000);
    expect(issued.ticket).not.toContain(finance.split('.')[1] ?? finance);

    const stream = await openWithTicket(gateway, issued.ticket, '&subject=sessions.v1.*');
    expect(stream.status).toBe(200);
    await expectEventually(() => expect(stream.initialId()).toBeDefined());

    const create = async (token: string, agentId: string) =>
      (await api<Session>(gateway, 'POST', '/v1/sessions', { token, body: { agentId } })).body;
    const theirs = await create(legal, 'legal-agent');
    const mine = await create(finance, 'finance-agent');
    await expectEventually(() => expect(stream.events()).toHaveLength(1));
    // The legal session was created first: had the stream shown it, it would be the first event.
    expect(stream.events()[0]?.data.payload).toMatchObject({ id: mine.id, role: 'finance' });
    expect(stream.events().some((e) => e.data.payload.id === theirs.id)).toBe(false);

    const again = await openWithTicket(gateway, issued.ticket);
    expect(again.status).toBe(401);
    expect(refusal(again)).toMatchObject({ code: 'unauthenticated', reason: 'stream_ticket_used' });
  });

  it('refuses an expired ticket, a forged one, a ticket with a header, and a token in the URL', async () => {
    const shortLived = await startTestGateway(ctx, {
      GATEWAY_STREAM_TICKET_KEY: key,
      GATEWAY_STREAM_TICKET_TTL: '1ms',
    });
    try {
      const { ticket } = await ticketFor(shortLived, await devToken(shortLived, 'finance-agent'));
      const expired = await openWithTicket(shortLived, ticket);
      expect(expired.status).toBe(401);
      expect(refusal(expired)).toMatchObject({ code: 'unauthenticated', reason: 'stream_ticket_expired' });
    } finally {
      await shortLived.close();
    }

    const forged = await openWithTicket(gateway, `v1.${randomBytes(200).toString('base64url')}`);
    expect(forged.status).toBe(401);
    expect(refusal(forged)).toMatchObject({ code: 'unauthenticated', reason: 'stream_ticket_invalid' });

    const { ticket } = await ticketFor(gateway, finance);
    const both = await SseClient.open(gateway, `/v1/events?ticket=${encodeURIComponent(ticket)}`, {
      token: finance,
    });
    clients.push(both);
    expect(both.status).toBe(400);

    const inUrl = await SseClient.open(gateway, `/v1/events?access_token=${finance}`);
    clients.push(inUrl);
    expect(inUrl.status).toBe(401);
    expect(refusal(inUrl)).toMatchObject({ code: 'unauthenticated', reason: 'token_in_url' });
    // Even next to a valid header: the token has leaked into the URL, the client must stop doing that.
    const alsoHeader = await SseClient.open(gateway, `/v1/events?access_token=${finance}`, {
      token: finance,
    });
    clients.push(alsoHeader);
    expect(alsoHeader.status).toBe(401);

    // Not a way to mint tickets without a token, nor with a ticket.
    const noToken = await api(gateway, 'POST', '/v1/events/tickets');
    expect(noToken.status).toBe(401);
    const { ticket: another } = await ticketFor(gateway, finance);
    const withTicket = await api(gateway, 'POST', `/v1/events/tickets?ticket=${encodeURIComponent(another)}`);
    expect(withTicket.status).toBe(401);
  });

  it('is redeemed by another replica with the same key, and by no replica with another key', async () => {
    // Replicas trust one issuer (production's OIDC mode); each test gateway's dev issuer is its own.
    const provider = await startOidcProvider({
      audience: AUDIENCE,
      clients: [
        {
          clientId: 'finance-agent',
          clientSecret: SECRET,
          tokenEndpointAuthMethod: 'client_secret_basic',
          scope: 'orgmesh:agent',
          claims: { role: 'finance' },
        },
      ],
    });
    const oidc = {
      AUTH_MODE: 'oidc',
      AUTH_ISSUER: provider.issuer,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_JWKS_URL: provider.jwksUrl,
    };
    const replicas = await Promise.all([
      startTestGateway(ctx, { ...oidc, GATEWAY_STREAM_TICKET_KEY: key }),
      startTestGateway(ctx, { ...oidc, GATEWAY_STREAM_TICKET_KEY: key }),
      startTestGateway(ctx, oidc),
    ]);
    const [a, b, ownKey] = replicas as [GatewayApp, GatewayApp, GatewayApp];
    const source = new OidcTokenSource({
      issuer: provider.issuer,
      clientId: 'finance-agent',
      auth: { method: 'client_secret_basic', secret: SECRET },
      scope: 'orgmesh:agent',
    });
    try {
      const token = (await source.current()).token;
      const first = await ticketFor(a, token);
      const elsewhere = await openWithTicket(b, first.ticket);
      expect(elsewhere.status).toBe(200);
      // Single use holds on the replica that redeemed it (each replica keeps its own nonce cache).
      const replay = await openWithTicket(b, first.ticket);
      expect(refusal(replay)).toMatchObject({ reason: 'stream_ticket_used' });
      const second = await ticketFor(a, token);
      const foreign = await openWithTicket(ownKey, second.ticket);
      expect(foreign.status).toBe(401);
      expect(refusal(foreign)).toMatchObject({ reason: 'stream_ticket_invalid' });
    } finally {
      source.stop();
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await Promise.all(replicas.map((r) => r.close()));
      await provider.close();
    }
  });

  it('is documented in the OpenAPI document', async () => {
    const doc = gateway.openapi as { paths: Record<string, Record<string, any>> };
    expect(doc.paths['/v1/events/tickets']?.['post']).toMatchObject({
      operationId: 'createStreamTicket',
      tags: ['events'],
    });
    const parameters = doc.paths['/v1/events']?.['get']?.parameters as Array<{ name: string }>;
    expect(parameters.map((p) => p.name)).toContain('ticket');
  });
});
