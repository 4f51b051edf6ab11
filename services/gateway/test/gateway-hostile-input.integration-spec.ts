import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { CreateSession, HEADERS, ListSessions, ListTasks, SendTask, type Task } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { Database } from '@orgmesh/persistence';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
// Every service runs in-process, for real, each trusting the gateway's built-in issuer through its JWKS.
import { demoFiles, editFile } from '@orgmesh/registry/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { findProtoDir, loadGatewayProtos } from '../src/grpc/grpc.server.js';
import { api, devToken, silentLogger, startGatewayStack, type GatewayStack } from './gateway-harness.js';

interface Problem {
  code: string;
  issues?: Array<{ path: string; message: string }>;
  details?: { issues?: Array<{ path: string; message: string }> };
}

/** JSON text nested `depth` arrays deep, written directly: building it as a value and stringifying it is what overflowed. */
function deepJsonText(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The issues of a problem+json answer, wherever the gateway puts them. */
function issuesOf(body: Problem): Array<{ path: string; message: string }> {
  return body.issues ?? body.details?.issues ?? [];
}

describe('hostile input at the edge: strings, structure and cursors (issue 17)', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let stack: GatewayStack;
  let bus: MessageBus;
  let meshDb: Database;
  let sessionsDb: Database;
  const tokens: Record<string, string> = {};
  const as = (client: string) => tokens[client] as string;

  const storedTasks = async () =>
    Number((await meshDb.query<{ n: string }>('SELECT count(*) AS n FROM mesh.tasks')).rows[0]?.n);
  const storedSessions = async () =>
    Number((await sessionsDb.query<{ n: string }>('SELECT count(*) AS n FROM sessions.sessions')).rows[0]?.n);

  /** A raw request on the bus, as any NATS client could send it: the JSON text as given. */
  async function rawRequest(
    subject: string,
    text: string,
    token?: string,
    extra: Record<string, string> = {},
  ) {
    const headers = natsHeaders();
    if (token) headers.set(HEADERS.authorization, `Bearer ${token}`);
    for (const [k, v] of Object.entries(extra)) headers.set(k, v);
    const reply = await bus.nc.request(bus.subject(subject), new TextEncoder().encode(text), {
      timeout: 5000,
      headers,
    });
    return {
      code: reply.headers?.get(HEADERS.errorCode),
      status: reply.headers?.get(HEADERS.errorStatus),
      body: reply.json<{ error?: Problem & { message: string } }>(),
    };
  }

  beforeAll(async () => {
    ctx = await createTestContext();
    stack = await startGatewayStack(ctx);
    gateway = stack.gateway;
    bus = await connectBus({
      url: ctx.natsUrl,
      name: 'hostile-input-client',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger: silentLogger,
    });
    meshDb = await Database.connect({ url: ctx.databaseUrl, schema: 'mesh', poolSize: 2 });
    sessionsDb = await Database.connect({ url: ctx.databaseUrl, schema: 'sessions', poolSize: 2 });
    for (const client of ['admin', 'finance-agent', 'manager-agent'])
      tokens[client] = await devToken(gateway, client);
  });

  afterAll(async () => {
    await meshDb?.close();
    await sessionsDb?.close();
    await bus?.close();
    await stack?.close();
    await ctx?.dispose();
  });

  describe('REST bodies: NUL, lone surrogates and deep JSON are 400 naming the field, nothing stored', () => {
    const cases: Array<[string, string, string, string]> = [
      ['NUL in a task type', '/v1/tasks', '{"to":"manager","type":"\\u0000"}', 'body.type'],
      ['a lone surrogate in a task type', '/v1/tasks', '{"to":"manager","type":"x\\ud800"}', 'body.type'],
      [
        'NUL in a task input',
        '/v1/tasks',
        '{"to":"manager","type":"review","input":{"a":"\\u0000"}}',
        'body.input',
      ],
      [
        'a lone surrogate as an input key',
        '/v1/tasks',
        '{"to":"manager","type":"r","input":{"\\udc00":1}}',
        'body.input',
      ],
      [
        'NUL in a contextId',
        '/v1/tasks',
        '{"to":"manager","type":"review","contextId":"c\\u0000"}',
        'body.contextId',
      ],
      [
        'NUL in an approval subject',
        '/v1/approvals',
        '{"to":"manager","subject":"Q3\\u0000"}',
        'body.subject',
      ],
      [
        'NUL in approval details',
        '/v1/approvals',
        '{"to":"manager","subject":"Q3","details":["\\u0000"]}',
        'body.details',
      ],
      [
        'NUL in a notification message',
        '/v1/notifications',
        '{"to":"manager","message":"\\u0000"}',
        'body.message',
      ],
      [
        'a lone surrogate in a notification',
        '/v1/notifications',
        '{"to":"manager","message":"\\ud83d"}',
        'body.message',
      ],
    ];

    it.each(cases)('%s', async (_name, path, rawBody, field) => {
      const before = await storedTasks();
      const res = await api<Problem>(gateway, 'POST', path, {
        token: as('finance-agent'),
        rawBody,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.code).toBe('validation_failed');
      expect(issuesOf(res.body).map((i) => i.path)).toContain(field);
      expect(await storedTasks()).toBe(before);
    });

    it.each([2000, 3000])(
      'JSON nested %i levels in a task input is refused naming the limit',
      async (depth) => {
        const before = await storedTasks();
        const res = await api<Problem>(gateway, 'POST', '/v1/tasks', {
          token: as('finance-agent'),
          rawBody: `{"to":"manager","type":"review","input":${deepJsonText(depth)}}`,
          headers: { 'content-type': 'application/json' },
        });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('validation_failed');
        const issue = issuesOf(res.body).find((i) => i.path === 'body.input');
        expect(issue?.message).toMatch(/nested deeper than 64 levels/);
        expect(await storedTasks()).toBe(before);
      },
    );

    it('an input of more than 50,000 JSON values is refused naming the limit', async () => {
      const before = await storedTasks();
      const res = await api<Problem>(gateway, 'POST', '/v1/tasks', {
        token: as('finance-agent'),
        rawBody: `{"to":"manager","type":"review","input":[${Array.from({ length: 50_001 }, () => '0').join(',')}]}`,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(issuesOf(res.body).find((i) => i.path === 'body.input')?.message).toMatch(
        /more than 50000 JSON values/,
      );
      expect(await storedTasks()).toBe(before);
    });

    it('JSON nested 3,000 levels in session metadata is refused naming the limit', async () => {
      const before = await storedSessions();
      const res = await api<Problem>(gateway, 'POST', '/v1/sessions', {
        token: as('finance-agent'),
        rawBody: `{"agentId":"finance-agent","metadata":{"deep":${deepJsonText(3000)}}}`,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(issuesOf(res.body).find((i) => i.path === 'body.metadata')?.message).toMatch(
        /nested deeper than 64/,
      );
      expect(await storedSessions()).toBe(before);
    });

    it.each([
      ['a flow sequence', `roles: ${'['.repeat(5000)}${']'.repeat(5000)}\n`],
      ['block mappings', Array.from({ length: 1200 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1\n'],
    ])('a registry file nested thousands of levels deep (%s) is 400, not a crash', async (_name, content) => {
      const res = await api<Problem>(gateway, 'PUT', '/v1/registry', {
        token: as('admin'),
        body: { files: [{ path: 'roles.yaml', content }] },
      });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    });

    it('JSON at the limit (64 levels) is stored, and the sessions service follows its event (no dead letter)', async () => {
      const contextId = `ctx-${randomUUID()}`;
      const res = await api<Task>(gateway, 'POST', '/v1/approvals', {
        token: as('finance-agent'),
        rawBody: `{"to":"manager","subject":"deep","contextId":"${contextId}","details":${deepJsonText(64)}}`,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(202);
      // Requesting an approval pauses the requester's session in that context: the event was applied.
      await expectEventually(async () => {
        const listed = await api<{ items: Array<{ status: string }> }>(
          gateway,
          'GET',
          `/v1/sessions?contextId=${contextId}&agentId=finance-agent`,
          { token: as('admin') },
        );
        expect(listed.body.items.map((s) => s.status)).toEqual(['paused']);
      });
    });

    it.each(['"Fin\\0ance"', '"Fin\\x00ance"', '"Fin\\ud800ance"'])(
      'a registry file whose YAML escape %s makes NUL or a lone surrogate is 400 naming the file and path',
      async (escaped) => {
        const files = editFile(
          await demoFiles(),
          'agents/finance-agent.yaml',
          'display_name: Finance Agent',
          `display_name: ${escaped}`,
        );
        const res = await api<Problem & { problems?: Array<{ file: string; path: string }> }>(
          gateway,
          'PUT',
          '/v1/registry',
          { token: as('admin'), body: { files } },
        );
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('validation_failed');
        expect(res.body.problems).toEqual([
          expect.objectContaining({ file: 'agents/finance-agent.yaml', path: 'display_name' }),
        ]);
      },
    );

    it('still stores ordinary Unicode', async () => {
      const res = await api<Task>(gateway, 'POST', '/v1/approvals', {
        token: as('finance-agent'),
        body: { to: 'manager', subject: 'Budget Q3 — équipe 💶', details: { lines: [{ qty: 2 }] } },
      });
      expect(res.status).toBe(202);
      expect(res.body.subject).toBe('Budget Q3 — équipe 💶');
    });
  });

  describe('REST path ids and list filters', () => {
    it.each([
      ['/v1/tasks?contextId=%00', 'query.contextId', 'finance-agent'],
      ['/v1/tasks?agentId=a%00b', 'query.agentId', 'finance-agent'],
      ['/v1/approvals?role=x%00', 'query.role', 'finance-agent'],
      ['/v1/sessions?contextId=x%00', 'query.contextId', 'admin'],
      ['/v1/sessions?agentId=%00', 'query.agentId', 'admin'],
      ['/v1/users/abc%00def', 'path.id', 'admin'],
      ['/v1/users/abc%00def/profile', 'path.id', 'admin'],
    ])('GET %s → 400 naming %s', async (path, param, client) => {
      const method = path.endsWith('/profile') ? 'PUT' : 'GET';
      const res = await api<Problem>(gateway, method, path, {
        token: as(client),
        ...(method === 'PUT' ? { body: { profileId: 'finance-default' } } : {}),
      });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(issuesOf(res.body).map((i) => i.path)).toContain(param);
    });
  });

  describe('cursors: parsed before any query, anything not issued is 400 invalid_cursor', () => {
    const forged = b64({ c: '2026-01-01T00:00:00Z', i: 'x' });
    const future = b64({ c: new Date(Date.now() + 86_400_000).toISOString(), i: randomUUID() });
    let sessionId: string;

    beforeAll(async () => {
      const created = await api<{ id: string }>(gateway, 'POST', '/v1/sessions', {
        token: as('admin'),
        body: { agentId: 'finance-agent', role: 'finance' },
      });
      expect(created.status).toBe(201);
      sessionId = created.body.id;
    });

    it.each([
      ['tasks, the forged cursor of the issue', '/v1/tasks', forged],
      ['tasks, a cursor from the future', '/v1/tasks', future],
      ['tasks, garbage', '/v1/tasks', 'not-a-cursor'],
      ['tasks, NUL', '/v1/tasks', '%00'],
      ['approvals, forged', '/v1/approvals', forged],
      ['notifications, future', '/v1/notifications', future],
      ['sessions, forged', '/v1/sessions', forged],
      ['sessions, future', '/v1/sessions', future],
      ['sessions, garbage', '/v1/sessions', '%F0%9F%92%A5'],
      ['agents, garbage', '/v1/agents', 'eyJhIjoiWCJ9'],
      ['users, forged offset', '/v1/users', b64({ o: 1e20 })],
    ])('%s', async (_name, path, cursor) => {
      const res = await api<Problem>(gateway, 'GET', `${path}?cursor=${cursor}`, { token: as('admin') });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.code).toBe('invalid_cursor');
    });

    it('session transitions refuse a cursor they did not issue', async () => {
      const res = await api<Problem>(
        gateway,
        'GET',
        `/v1/sessions/${sessionId}/transitions?cursor=${forged}`,
        {
          token: as('admin'),
        },
      );
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_cursor');
    });

    it('pages through tasks with the cursors the service issues', async () => {
      const contextId = `ctx-${randomUUID()}`;
      const ids: string[] = [];
      for (const type of ['one', 'two', 'three']) {
        const res = await api<Task>(gateway, 'POST', '/v1/tasks', {
          token: as('manager-agent'),
          body: { to: 'finance', type, contextId },
        });
        expect(res.status).toBe(202);
        ids.push(res.body.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `/v1/tasks?contextId=${contextId}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await api<{ items: Task[]; nextCursor: string | null }>(gateway, 'GET', query, {
          token: as('manager-agent'),
        });
        expect(page.status).toBe(200);
        seen.push(...page.body.items.map((t) => t.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen.sort()).toEqual([...ids].sort());
    });

    it('pages through sessions with the cursors the service issues', async () => {
      const contextId = `ctx-${randomUUID()}`;
      // One open session per agent and context: three agents.
      for (const role of ['finance', 'manager', 'legal']) {
        const res = await api(gateway, 'POST', '/v1/sessions', {
          token: as('admin'),
          body: { agentId: `${role}-agent`, role, contextId },
        });
        expect(res.status).toBe(201);
      }
      const first = await api<{ items: unknown[]; nextCursor: string }>(
        gateway,
        'GET',
        `/v1/sessions?contextId=${contextId}&limit=2`,
        { token: as('admin') },
      );
      expect(first.body.items).toHaveLength(2);
      const second = await api<{ items: unknown[]; nextCursor: string | null }>(
        gateway,
        'GET',
        `/v1/sessions?contextId=${contextId}&limit=2&cursor=${first.body.nextCursor}`,
        { token: as('admin') },
      );
      expect(second.status).toBe(200);
      expect(second.body.items).toHaveLength(1);
    });
  });

  describe('raw NATS: a bus caller cannot store what REST refuses', () => {
    it('send-task with NUL in type: the typed validation error, nothing stored', async () => {
      const before = await storedTasks();
      const reply = await rawRequest(
        SendTask.subject,
        '{"to":"manager","type":"\\u0000"}',
        as('finance-agent'),
      );
      expect(reply.code).toBe('validation_failed');
      expect(reply.status).toBe('400');
      expect(reply.body.error?.details?.issues?.map((i) => i.path)).toContain('type');
      expect(await storedTasks()).toBe(before);
    });

    it('send-task with input nested 3,000 levels: the typed validation error naming a limit, nothing stored', async () => {
      const before = await storedTasks();
      const reply = await rawRequest(
        SendTask.subject,
        `{"to":"manager","type":"review","input":${deepJsonText(3000)}}`,
        as('finance-agent'),
      );
      expect(reply.code).toBe('validation_failed');
      expect(reply.status).toBe('400');
      // The bus may refuse the whole body before the contract sees it; either way a limit is named.
      expect(reply.body.error?.details?.issues?.[0]?.message).toMatch(/nested deeper than \d+ levels/);
      expect(await storedTasks()).toBe(before);
    });

    it('send-task with input 100 levels deep (a body the bus takes): the contract refuses input, naming 64', async () => {
      const before = await storedTasks();
      const reply = await rawRequest(
        SendTask.subject,
        `{"to":"manager","type":"review","input":${deepJsonText(100)}}`,
        as('finance-agent'),
      );
      expect(reply.code).toBe('validation_failed');
      expect(reply.body.error?.details?.issues?.find((i) => i.path === 'input')?.message).toMatch(
        /nested deeper than 64 levels/,
      );
      expect(await storedTasks()).toBe(before);
    });

    it.each([
      ['NUL', 'a\u0000b'],
      ['5,000 characters', 'k'.repeat(5000)],
    ])(
      'an idempotency-key header with %s: the typed validation error, nothing stored',
      async (_name, key) => {
        const tasks = await storedTasks();
        const sessionsBefore = await storedSessions();
        const headers = { [HEADERS.idempotencyKey]: key };
        const task = await rawRequest(
          SendTask.subject,
          '{"to":"manager","type":"review"}',
          as('manager-agent'),
          headers,
        );
        expect(task.code).toBe('validation_failed');
        expect(task.body.error?.details?.issues?.[0]?.path).toBe(`header.${HEADERS.idempotencyKey}`);
        const session = await rawRequest(
          CreateSession.subject,
          '{"agentId":"finance-agent","role":"finance"}',
          as('admin'),
          headers,
        );
        expect(session.code).toBe('validation_failed');
        expect(await storedTasks()).toBe(tasks);
        expect(await storedSessions()).toBe(sessionsBefore);
      },
    );

    it('create-session with NUL in the agent id or deep metadata: refused, nothing stored', async () => {
      const before = await storedSessions();
      for (const text of [
        '{"agentId":"a\\u0000","role":"finance"}',
        `{"agentId":"finance-agent","role":"finance","metadata":{"m":${deepJsonText(3000)}}}`,
      ]) {
        const reply = await rawRequest(CreateSession.subject, text, as('admin'));
        expect(reply.code).toBe('validation_failed');
      }
      expect(await storedSessions()).toBe(before);
    });

    it('list-tasks and list-sessions with a forged cursor answer invalid_cursor', async () => {
      const forged = b64({ c: '2026-01-01T00:00:00Z', i: 'x' });
      const tasks = await rawRequest(ListTasks.subject, JSON.stringify({ cursor: forged }), as('admin'));
      expect(tasks.code).toBe('invalid_cursor');
      expect(tasks.status).toBe('400');
      const list = await rawRequest(ListSessions.subject, JSON.stringify({ cursor: forged }), as('admin'));
      expect(list.code).toBe('invalid_cursor');
    });
  });

  describe('gRPC: the same rules through the same routes, as INVALID_ARGUMENT', () => {
    type Client = grpc.Client &
      Record<string, (req: unknown, md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void>;
    let mesh: Client;
    let sessionsClient: Client;

    beforeAll(() => {
      const loaded = grpc.loadPackageDefinition(loadGatewayProtos(findProtoDir())) as any;
      const address = `127.0.0.1:${gateway.grpcPort}`;
      mesh = new loaded.orgmesh.v1.Mesh(address, grpc.credentials.createInsecure());
      sessionsClient = new loaded.orgmesh.v1.Sessions(address, grpc.credentials.createInsecure());
    });

    afterAll(() => {
      mesh?.close();
      sessionsClient?.close();
    });

    function failure(client: Client, method: string, request: unknown): Promise<grpc.ServiceError | null> {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${as('admin')}`);
      return new Promise((resolve) => client[method]!(request, metadata, (error) => resolve(error)));
    }

    it.each([
      ['Mesh', 'ListTasks', { cursor: b64({ c: '2026-01-01T00:00:00Z', i: 'x' }) }],
      [
        'Mesh',
        'ListApprovals',
        { cursor: b64({ c: new Date(Date.now() + 86_400_000).toISOString(), i: randomUUID() }) },
      ],
      ['Mesh', 'ListTasks', { contextId: 'a\u0000' }],
      ['Sessions', 'ListSessions', { cursor: 'garbage' }],
      ['Sessions', 'ListSessions', { agentId: '\u0000' }],
    ])('%s/%s %j → INVALID_ARGUMENT', async (service, method, request) => {
      const error = await failure(service === 'Mesh' ? mesh : sessionsClient, method, request);
      expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    });
  });
});
