import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import { startTestSessions } from '@orgmesh/sessions/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { findProtoDir, loadGatewayProtos, readErrorDetails } from '../src/grpc/grpc.server.js';
import { devToken, startTestGateway } from './gateway-harness.js';

type SessionsApp = Awaited<ReturnType<typeof startTestSessions>>;
type Client = grpc.Client & Record<string, any>;

function unary<T = any>(
  client: Client,
  method: string,
  request: unknown,
  metadata: grpc.Metadata,
): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, (error: grpc.ServiceError | null, response: T) =>
      error ? reject(error) : resolve(response),
    );
  });
}

function auth(token: string, extra: Record<string, string> = {}): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  for (const [k, v] of Object.entries(extra)) metadata.set(k, v);
  return metadata;
}

async function grpcError(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('gRPC edge (@grpc/grpc-js client)', () => {
  let ctx: TestContext;
  let sessionsApp: SessionsApp;
  let gateway: GatewayApp;
  let sessions: Client;
  let events: Client;
  let mesh: Client;
  let registry: Client;
  let finance: string;
  let legal: string;
  let admin: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    sessionsApp = await startTestSessions(ctx);
    gateway = await startTestGateway(ctx);
    const loaded = grpc.loadPackageDefinition(loadGatewayProtos(findProtoDir())) as any;
    const address = `127.0.0.1:${gateway.grpcPort}`;
    const credentials = grpc.credentials.createInsecure();
    sessions = new loaded.orgmesh.v1.Sessions(address, credentials);
    events = new loaded.orgmesh.v1.Events(address, credentials);
    mesh = new loaded.orgmesh.v1.Mesh(address, credentials);
    registry = new loaded.orgmesh.v1.Registry(address, credentials);
    [finance, legal, admin] = await Promise.all([
      devToken(gateway, 'finance-agent'),
      devToken(gateway, 'legal-agent'),
      devToken(gateway, 'admin'),
    ]);
  });

  afterAll(async () => {
    for (const client of [sessions, events, mesh, registry]) client?.close();
    await gateway?.close();
    await sessionsApp?.close();
    await ctx?.dispose();
  });

  it('creates, transitions and reads a session, with the role from the token and metadata as a Struct', async () => {
    const created = await unary(
      sessions,
      'CreateSession',
      { agentId: 'finance-agent', metadata: { fields: { ticket: { stringValue: 'Q4' } } } },
      auth(finance),
    );
    expect(created).toMatchObject({
      agentId: 'finance-agent',
      role: 'finance',
      status: 'pending',
      version: 0,
    });
    expect(created.metadata.fields.ticket.stringValue).toBe('Q4');
    expect(created.pausedAt).toBeUndefined();

    const active = await unary(
      sessions,
      'ApplySessionEvent',
      { id: created.id, event: 'activate', reason: 'go' },
      auth(finance),
    );
    expect(active).toMatchObject({ status: 'active', version: 1 });
    const fetched = await unary(sessions, 'GetSession', { id: created.id }, auth(finance));
    expect(fetched).toMatchObject({ id: created.id, status: 'active' });
    const history = await unary(sessions, 'ListSessionTransitions', { id: created.id }, auth(finance));
    expect(history.items.map((t: any) => [t.from, t.to, t.event, t.actor, t.reason])).toEqual([
      ['pending', 'active', 'activate', 'finance-agent', 'go'],
    ]);
    const list = await unary(sessions, 'ListSessions', { limit: 10 }, auth(finance));
    expect(list.items.every((s: any) => s.role === 'finance')).toBe(true);
    expect(list.items.map((s: any) => s.id)).toContain(created.id);
  });

  it('maps errors to gRPC statuses carrying the orgmesh code and details', async () => {
    const created = await unary(sessions, 'CreateSession', { agentId: 'legal-agent' }, auth(legal));
    const illegal = await grpcError(
      unary(sessions, 'ApplySessionEvent', { id: created.id, event: 'complete' }, auth(legal)),
    );
    expect(illegal.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(illegal.metadata.get('orgmesh-error-code')).toEqual(['session_illegal_transition']);
    expect(JSON.parse(String(illegal.metadata.get('orgmesh-error-details')[0]))).toMatchObject({
      currentState: 'pending',
      allowedEvents: ['activate', 'fail', 'expire'],
    });

    const invalid = await grpcError(unary(sessions, 'GetSession', { id: 'nope' }, auth(legal)));
    expect(invalid.code).toBe(grpc.status.INVALID_ARGUMENT);
    // Proto terms: the request's field name, not the REST location (`path.id`).
    expect(invalid.details).toMatch(/^invalid request: id: /);
    expect(readErrorDetails(invalid.metadata)).toMatchObject({ issues: [{ path: 'id' }] });

    const forbidden = await grpcError(unary(sessions, 'GetSession', { id: created.id }, auth(finance)));
    expect(forbidden.code).toBe(grpc.status.PERMISSION_DENIED);
    const asOtherRole = await grpcError(
      unary(sessions, 'CreateSession', { agentId: 'finance-agent', role: 'manager' }, auth(finance)),
    );
    expect(asOtherRole.code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('verifies the authorization metadata like the REST header', async () => {
    const none = await grpcError(unary(sessions, 'ListSessions', {}, auth('')));
    expect(none.code).toBe(grpc.status.UNAUTHENTICATED);
    const tampered = await grpcError(
      unary(sessions, 'ListSessions', {}, auth(`${finance.slice(0, -4)}AAAA`)),
    );
    expect(tampered.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('requires the Bearer scheme in the authorization metadata, matched case-insensitively', async () => {
    const raw = (value: string) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', value);
      return metadata;
    };
    const bare = await grpcError(unary(sessions, 'ListSessions', {}, raw(finance)));
    expect(bare.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(bare.metadata.get('orgmesh-error-code')).toEqual(['unauthenticated']);
    expect(bare.details).toMatch(/Bearer scheme/);
    const basic = await grpcError(unary(sessions, 'ListSessions', {}, raw(`Basic ${finance}`)));
    expect(basic.code).toBe(grpc.status.UNAUTHENTICATED);
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      const page = await unary<{ items: unknown[] }>(sessions, 'ListSessions', {}, raw(`${scheme} ${finance}`));
      expect(Array.isArray(page.items)).toBe(true);
    }
  });

  it('answers every declared method of Sessions, Mesh and Registry (none UNIMPLEMENTED)', async () => {
    const services: Array<[Client, string]> = [
      [sessions, 'Sessions'],
      [mesh, 'Mesh'],
      [registry, 'Registry'],
    ];
    for (const [client, name] of services) {
      const methods = Object.keys(
        (client.constructor as unknown as { service: Record<string, unknown> }).service,
      );
      expect(methods.length).toBeGreaterThan(0);
      for (const method of methods) {
        const error = await grpcError(unary(client, method, {}, auth(admin))).catch(() => undefined);
        // Any answer but UNIMPLEMENTED: validation, a missing service (UNAVAILABLE), not found…
        expect({ method: `${name}/${method}`, code: error?.code }).not.toEqual({
          method: `${name}/${method}`,
          code: grpc.status.UNIMPLEMENTED,
        });
      }
    }
  });

  it('streams lifecycle events with WatchEvents and resumes from a cursor', async () => {
    const received: any[] = [];
    const call = events.WatchEvents(
      { subjects: ['sessions.v1.transitioned'] },
      auth(finance),
    ) as grpc.ClientReadableStream<any>;
    call.on('data', (event) => received.push(event));
    call.on('error', () => undefined);
    await expectEventually(async () => {
      // The stream is live once an event published now arrives.
      const probe = await unary(
        sessions,
        'CreateSession',
        { agentId: 'finance-agent', contextId: `probe-${received.length}-${Date.now()}` },
        auth(finance),
      );
      await unary(sessions, 'ApplySessionEvent', { id: probe.id, event: 'fail' }, auth(finance));
      await expectEventually(
        () =>
          expect(received.some((e) => e.payload.structValue.fields.sessionId.stringValue === probe.id)).toBe(
            true,
          ),
        { timeoutMs: 1000 },
      );
    });
    const session = await unary(sessions, 'CreateSession', { agentId: 'finance-agent' }, auth(finance));
    await unary(sessions, 'ApplySessionEvent', { id: session.id, event: 'activate' }, auth(finance));
    await unary(sessions, 'ApplySessionEvent', { id: session.id, event: 'pause' }, auth(finance));
    const ofSession = () =>
      received.filter((e) => e.payload.structValue.fields.sessionId.stringValue === session.id);
    await expectEventually(() => expect(ofSession()).toHaveLength(2));
    const [activated, paused] = ofSession();
    expect(activated).toMatchObject({
      subject: 'sessions.v1.transitioned',
      cursor: String(activated.sequence),
    });
    expect(paused.sequence).toBeGreaterThan(activated.sequence);
    expect(paused.payload.structValue.fields.to.stringValue).toBe('paused');
    call.cancel();

    // Legal's sessions never reach a finance watcher; resuming after the activation replays the pause.
    const legalSession = await unary(sessions, 'CreateSession', { agentId: 'legal-agent' }, auth(legal));
    await unary(sessions, 'ApplySessionEvent', { id: legalSession.id, event: 'activate' }, auth(legal));
    const replayed: any[] = [];
    const resumed = events.WatchEvents(
      { subjects: ['sessions.v1.transitioned'], cursor: activated.cursor },
      auth(finance),
    ) as grpc.ClientReadableStream<any>;
    resumed.on('data', (event) => replayed.push(event));
    resumed.on('error', () => undefined);
    await unary(sessions, 'ApplySessionEvent', { id: session.id, event: 'resume' }, auth(finance));
    await expectEventually(() =>
      expect(
        replayed
          .filter((e) => e.payload.structValue.fields.sessionId.stringValue === session.id)
          .map((e) => e.payload.structValue.fields.event.stringValue),
      ).toEqual(['pause', 'resume']),
    );
    expect(replayed.some((e) => e.payload.structValue.fields.role.stringValue !== 'finance')).toBe(false);
    resumed.cancel();
  });

  it('refuses WatchEvents without a token', async () => {
    const call = events.WatchEvents({}, auth('')) as grpc.ClientReadableStream<any>;
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      call.on('error', resolve);
      call.on('data', () => undefined);
    });
    expect(error.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});
