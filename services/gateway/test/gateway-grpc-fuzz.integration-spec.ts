import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { connect as connectHttp2 } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import fc from 'fast-check';
import { ERROR_CODES } from '@orgmesh/contracts';
import {
  createTestContext,
  deepJson,
  fuzzEdge,
  recordProcessFaults,
  type FuzzEdgeResult,
  type TestContext,
} from '@orgmesh/testing';
// Every service runs in-process, for real, each trusting the gateway's built-in issuer through its JWKS.
import { DEMO_ORG_CHART } from '@orgmesh/registry/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { findProtoDir, loadGatewayProtos, readErrorDetails } from '../src/grpc/grpc.server.js';
import { toProtoStruct } from '../src/grpc/proto-json.js';
import { devToken, startGatewayStack, type GatewayStack } from './gateway-harness.js';
import {
  ISSUE_BYTES,
  RequestGenerator,
  caseMetadata,
  rawBytes,
  type CaseMetadata,
  type TokenKind,
} from './grpc-fuzz.arbitraries.js';

type Message = Record<string, any>;

/** Cases per method in `npm test` (each case is two calls: raw bytes and a hostile message). */
const CI_RUNS = 8;
/** Server-streaming calls (each cancelled once live) per client connection; see call(). */
const STREAMS_PER_CONNECTION = 500;

/** A unary call still running after this is a hang. */
const UNARY_DEADLINE_MS = 10_000;
/** Statuses that say "your request" (or OK): anything else, INTERNAL and UNKNOWN above all, is a finding. */
const REQUEST_STATUSES = new Set([
  grpc.status.OK,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.PERMISSION_DENIED,
  grpc.status.UNAUTHENTICATED,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.ALREADY_EXISTS,
  grpc.status.ABORTED,
  grpc.status.RESOURCE_EXHAUSTED,
]);
/** Creates, and the list whose admin view shows what they stored. */
const CREATES: Record<string, string> = {
  'orgmesh.v1.Sessions/CreateSession': 'orgmesh.v1.Sessions/ListSessions',
  'orgmesh.v1.Mesh/SendTask': 'orgmesh.v1.Mesh/ListTasks',
  'orgmesh.v1.Mesh/RequestApproval': 'orgmesh.v1.Mesh/ListTasks',
  'orgmesh.v1.Mesh/Notify': 'orgmesh.v1.Mesh/ListTasks',
};

interface Method {
  /** `orgmesh.v1.Sessions/CreateSession` */
  name: string;
  definition: protoLoader.MethodDefinition<object, object>;
  requestType: string;
}

interface Answer {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
  /** The server sent headers (for WatchEvents: the subscription is live). */
  headers: boolean;
  response: Buffer | undefined;
}

/**
 * Issue 17: every method of the loaded protos, fed raw bytes and structurally valid messages with
 * hostile content, with the real services behind the gateway. An answer is always a status that
 * blames the request (or OK), never INTERNAL/UNKNOWN and never a hang; every error carries a known
 * orgmesh code and decodable details; a refused create stores nothing; the gateway keeps
 * answering; nothing reaches the process as an uncaught exception or unhandled rejection; and the
 * gateway's last-resort counter stays at zero.
 */
describe('gRPC fuzz over every method of the protos', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let stack: GatewayStack;
  let client: grpc.Client;
  let streamsOnClient = 0;
  let definition: protoLoader.PackageDefinition;
  let methods: Method[];
  const tokens: Partial<Record<TokenKind, string>> = {};
  const ids: string[] = [];
  /** Uncaught exceptions and unhandled rejections of the process while the suite runs. */
  let faults: ReturnType<typeof recordProcessFaults>;

  const metadataOf = (meta: CaseMetadata): grpc.Metadata => {
    const metadata = new grpc.Metadata();
    const token = meta.token === 'garbage' ? 'eyJhbGciOiJub25lIn0.e30.' : tokens[meta.token];
    if (meta.token === 'forged') metadata.set('authorization', meta.forged);
    else if (token) metadata.set('authorization', `Bearer ${token}`);
    if (meta.idempotencyKey !== undefined) metadata.set('idempotency-key', meta.idempotencyKey);
    if (meta.traceparent !== undefined) metadata.set('traceparent', meta.traceparent);
    return metadata;
  };

  const identity = (bytes: Buffer) => bytes;

  /** One call with request bytes as they are; resolves with the final status, whatever it is. */
  function call(method: Method, bytes: Buffer, metadata: grpc.Metadata): Promise<Answer> {
    const path = `/${method.name}`;
    if (method.definition.responseStream) {
      // Opening and at once cancelling thousands of streams on one connection is what Node's HTTP/2
      // server treats as a rapid-reset attack: it closes that connection (the client sees UNAVAILABLE,
      // "Session closed with error code 2"), as it should. A long run therefore cancels its live
      // streams over a fresh connection every few hundred.
      if (++streamsOnClient >= STREAMS_PER_CONNECTION) {
        streamsOnClient = 0;
        client.close();
        client = new grpc.Client(`127.0.0.1:${gateway.grpcPort}`, grpc.credentials.createInsecure());
      }
      return new Promise((resolve) => {
        let headers = false;
        const stream = client.makeServerStreamRequest(path, identity, identity, bytes, metadata, {
          deadline: Date.now() + UNARY_DEADLINE_MS,
        });
        // Live: the request was accepted. Leaving is the client's right; the server must let go.
        stream.on('metadata', () => {
          headers = true;
          stream.cancel();
        });
        stream.on('data', () => undefined);
        stream.on('error', () => undefined);
        stream.on('status', (status: grpc.StatusObject) =>
          resolve({ ...status, headers, response: undefined }),
        );
      });
    }
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        path,
        identity,
        identity,
        bytes,
        metadata,
        { deadline: Date.now() + UNARY_DEADLINE_MS },
        (error: grpc.ServiceError | null, response?: Buffer) =>
          resolve(
            error
              ? {
                  code: error.code,
                  details: error.details,
                  metadata: error.metadata,
                  headers: false,
                  response,
                }
              : {
                  code: grpc.status.OK,
                  details: 'OK',
                  metadata: new grpc.Metadata(),
                  headers: true,
                  response,
                },
          ),
      );
    });
  }

  const encode = (method: Method, message: Message): Buffer =>
    method.definition.requestSerialize(message as object) as Buffer;

  /** A normal call with a decoded response; throws on any error status. */
  async function normal(name: string, message: Message, token: TokenKind = 'admin'): Promise<Message> {
    const method = methods.find((m) => m.name === name);
    if (!method) throw new Error(`no method ${name}`);
    const answer = await call(
      method,
      encode(method, message),
      metadataOf({ token, forged: '', idempotencyKey: undefined, traceparent: undefined }),
    );
    if (answer.code !== grpc.status.OK)
      throw new Error(`${name}: ${grpc.status[answer.code]} ${answer.details}`);
    return method.definition.responseDeserialize(answer.response as Buffer) as Message;
  }

  /** Every id the admin's list shows, page by page. */
  async function listed(list: string): Promise<Set<string>> {
    const seen = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await normal(list, { limit: 500, ...(cursor ? { cursor } : {}) });
      for (const item of (page['items'] ?? []) as Message[]) {
        // Sessions the mesh opens for tasks (the fixtures' and the fuzz's own) are not a create's.
        if (item['metadata']?.['fields']?.['source']?.['stringValue'] !== 'mesh')
          seen.add(item['id'] as string);
      }
      cursor = page['nextCursor'] as string | undefined;
    } while (cursor);
    return seen;
  }

  const unexpectedErrors = async (): Promise<number> => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    // One series per method: the sum over every grpc series.
    return [...text.matchAll(/^orgmesh_unexpected_errors_total\{edge="grpc"[^}]*\} (\d+)/gm)].reduce(
      (sum, match) => sum + Number(match[1]),
      0,
    );
  };

  /** What every answer must be; `label` names the case in a failure. */
  function checkAnswer(method: Method, label: string, answer: Answer): void {
    const live = method.definition.responseStream && answer.headers && answer.code === grpc.status.CANCELLED;
    const outcome = { label, status: grpc.status[answer.code], details: answer.details };
    expect({ ...outcome, blamesTheRequest: live || REQUEST_STATUSES.has(answer.code) }).toEqual({
      ...outcome,
      blamesTheRequest: true,
    });
    if (answer.code === grpc.status.OK || live) return;
    const [code] = answer.metadata.get('orgmesh-error-code');
    expect({ label, code, known: (ERROR_CODES as readonly unknown[]).includes(code) }).toEqual({
      label,
      code,
      known: true,
    });
    const hasDetails = answer.metadata.get('orgmesh-error-details-bin').length > 0;
    if (hasDetails)
      expect({ label, details: readErrorDetails(answer.metadata) !== undefined }).toEqual({
        label,
        details: true,
      });
  }

  beforeAll(async () => {
    faults = recordProcessFaults();
    ctx = await createTestContext();
    stack = await startGatewayStack(ctx);
    gateway = stack.gateway;
    const clients: Record<Exclude<TokenKind, 'none' | 'garbage' | 'forged'>, string> = {
      admin: 'admin',
      agent: 'finance-agent',
      manager: 'manager-agent',
      viewer: 'viewer',
    };
    for (const [kind, id] of Object.entries(clients)) tokens[kind as TokenKind] = await devToken(gateway, id);
    definition = loadGatewayProtos(findProtoDir());
    // Every method of every service the protos declare, found from the definition, not listed here.
    methods = Object.entries(definition).flatMap(([service, value]) =>
      'format' in value
        ? []
        : Object.entries(value as protoLoader.ServiceDefinition).map(([name, method]) => ({
            name: `${service}/${name}`,
            definition: method,
            requestType: (method.requestType.type as { name: string }).name,
          })),
    );
    client = new grpc.Client(`127.0.0.1:${gateway.grpcPort}`, grpc.credentials.createInsecure());

    // Real ids, so hostile siblings get past the lookups to the code behind them.
    await normal('orgmesh.v1.Registry/ImportOrg', { csv: readFileSync(DEMO_ORG_CHART, 'utf8') });
    const session = await normal('orgmesh.v1.Sessions/CreateSession', { agentId: 'finance-agent' }, 'agent');
    const task = await normal(
      'orgmesh.v1.Mesh/SendTask',
      { to: { role: 'finance' }, type: 'fixture' },
      'manager',
    );
    const approval = await normal(
      'orgmesh.v1.Mesh/RequestApproval',
      { to: { role: 'manager' }, subject: 'fixture' },
      'agent',
    );
    const profile = await normal('orgmesh.v1.Registry/GetRoleProfile', { role: 'finance' });
    ids.push(session['id'], task['id'], approval['id'], 'finance-agent', 'u00004', profile['profile']['id']);
  });

  afterAll(async () => {
    client?.close();
    await stack?.close();
    await ctx?.dispose();
    faults?.stop();
  });

  it('answers every method, for raw bytes and hostile messages, with a status that blames the request, and stores nothing it refused', async () => {
    // FUZZ_GRPC_METHODS=CreateSession,WatchEvents narrows a long run (npm run fuzz) to some methods.
    const only = process.env['FUZZ_GRPC_METHODS']?.split(',');
    const selected = methods.filter((m) => !only || only.some((name) => m.name.endsWith(`/${name}`)));
    expect(selected.length).toBeGreaterThanOrEqual(only ? 1 : 28);
    expect(selected.map((m) => m.name)).toEqual(
      expect.arrayContaining(only ? [] : ['orgmesh.v1.Events/WatchEvents']),
    );
    const generator = new RequestGenerator(definition, ids);
    const results: FuzzEdgeResult[] = [];
    const failures: string[] = [];
    for (const method of selected) {
      const create = CREATES[method.name];
      const before = create ? await listed(create) : new Set<string>();
      const accepted = new Set<string>();
      const valid = generator.plausible(method.requestType).map((message) => encode(method, message));
      const cases = fc.record({
        raw: rawBytes(valid),
        message: generator.messages(method.requestType),
        metadata: caseMetadata,
      });
      try {
        results.push(
          await fuzzEdge(
            `grpc ${method.name}`,
            cases,
            async ({ raw, message, metadata }) => {
              const encoded = encode(method, message);
              for (const [kind, bytes] of [
                ['raw', raw],
                ['message', encoded],
              ] as const) {
                const answer = await call(method, bytes, metadataOf(metadata));
                if (create && answer.code === grpc.status.OK && answer.response) {
                  const created = method.definition.responseDeserialize(answer.response) as Message;
                  accepted.add(created['id'] as string);
                }
                const label = `${kind} ${bytes.length} bytes as ${metadata.token}${metadata.idempotencyKey === undefined ? '' : `, idempotency-key ${JSON.stringify(metadata.idempotencyKey)}`}`;
                checkAnswer(method, label, answer);
              }
            },
            { ciRuns: CI_RUNS },
          ),
        );
      } catch (error) {
        // Long runs of one character (a 4 KB forged token) are folded so the reason fits the report.
        const message = error instanceof Error ? error.message : String(error);
        failures.push(
          message.replace(/(.)\1{63,}/g, (run, c: string) => `${c}…×${run.length}`).slice(0, 3_000),
        );
      }
      if (create) {
        // Every refused create left nothing behind: the list grew by exactly what was accepted.
        const stored = [...(await listed(create))].filter((id) => !before.has(id)).sort();
        const expected = [...accepted].filter((id) => !before.has(id)).sort();
        // What was stored without being accepted, shown whole: it names the request that wrote it.
        const getter =
          create === 'orgmesh.v1.Sessions/ListSessions'
            ? 'orgmesh.v1.Sessions/GetSession'
            : 'orgmesh.v1.Mesh/GetTask';
        const unaccepted = await Promise.all(
          stored.filter((id) => !accepted.has(id)).map((id) => normal(getter, { id })),
        );
        expect({ method: method.name, stored, unaccepted }).toEqual({
          method: method.name,
          stored: expected,
          unaccepted: [],
        });
      }
      // The server still answers a normal call.
      await normal('orgmesh.v1.Sessions/ListSessions', { limit: 1 });
    }
    expect(failures).toEqual([]);
    expect(faults.faults).toEqual([]);
    expect(await unexpectedErrors()).toBe(0);
    const total = results.reduce((sum, r) => sum + r.cases, 0);
    expect(total).toBeGreaterThanOrEqual(selected.length * (only ? 1 : CI_RUNS));
  });

  it('survives hostile gRPC framing (compression flags, lengths, encodings, timeouts) and keeps serving', async () => {
    // Below the message: what grpc-js itself parses before any handler runs. Its own answers for
    // broken framing (INTERNAL "Failed to decompress message", for one) are not ours to shape; what
    // must hold is an answer or a reset in time, nothing reaching the process, and service after.
    const paths = methods.map((m) => `/${m.name}`);
    const framing = fc.record({
      path: fc.oneof(
        fc.constantFrom(...paths),
        fc.constantFrom('/', '/orgmesh.v1.Nope/Nope', '/orgmesh.v1.Sessions/'),
      ),
      contentType: fc.constantFrom(
        'application/grpc',
        'application/grpc+proto',
        'application/json',
        'application/grpc+json',
        '',
      ),
      encoding: fc.option(fc.constantFrom('identity', 'gzip', 'deflate', 'snappy', ''), { nil: undefined }),
      timeout: fc.option(fc.constantFrom('1S', '0n', '99999999H', 'x', '-1m', '1'), { nil: undefined }),
      flag: fc.constantFrom(0, 1, 2, 255),
      declared: fc.oneof(fc.constant(undefined), fc.nat({ max: 2 ** 32 - 1 })),
      payload: fc.uint8Array({ maxLength: 128 }),
    });
    const result = await fuzzEdge(
      'grpc framing',
      framing,
      async (frame) => {
        const body = Buffer.alloc(5 + frame.payload.length);
        body.writeUInt8(frame.flag, 0);
        body.writeUInt32BE(frame.declared ?? frame.payload.length, 1);
        Buffer.from(frame.payload).copy(body, 5);
        const headers: Record<string, string> = {
          ':method': 'POST',
          ':path': frame.path,
          te: 'trailers',
          authorization: `Bearer ${tokens['admin'] ?? ''}`,
        };
        if (frame.contentType) headers['content-type'] = frame.contentType;
        if (frame.encoding !== undefined) headers['grpc-encoding'] = frame.encoding;
        if (frame.timeout !== undefined) headers['grpc-timeout'] = frame.timeout;
        const outcome = await rawHttp2(gateway.grpcPort, headers, body, UNARY_DEADLINE_MS);
        expect({
          frame: JSON.stringify({ ...frame, payload: frame.payload.length }),
          outcome: outcome === 'hang' ? 'hang' : 'answered',
        }).toEqual({
          frame: JSON.stringify({ ...frame, payload: frame.payload.length }),
          outcome: 'answered',
        });
      },
      { ciRuns: 40 },
    );
    expect(result.cases).toBeGreaterThan(0);
    await normal('orgmesh.v1.Sessions/ListSessions', { limit: 1 });
    expect(faults.faults).toEqual([]);
    expect(await unexpectedErrors()).toBe(0);
  });

  describe('the reproductions of issue 17 (gRPC edge)', () => {
    const method = (name: string) => methods.find((m) => m.name === name) as Method;
    const as = (token: TokenKind, idempotencyKey?: string) =>
      metadataOf({ token, forged: '', idempotencyKey, traceparent: undefined });

    it.each([
      [
        'CreateSession{agent_id:"é"}',
        () => encode(method('orgmesh.v1.Sessions/CreateSession'), { agentId: 'é' }),
      ],
      ['the 64 bytes (i*97+13)&255', () => ISSUE_BYTES],
    ])(
      'refuses %s from an agent with a status the client can read, and keeps serving',
      async (_name, bytes) => {
        const create = method('orgmesh.v1.Sessions/CreateSession');
        const answer = await call(create, bytes(), as('agent'));
        expect([grpc.status.PERMISSION_DENIED, grpc.status.INVALID_ARGUMENT]).toContain(answer.code);
        expect(answer.metadata.get('orgmesh-error-code')).toHaveLength(1);
        if (answer.code === grpc.status.PERMISSION_DENIED) {
          // The details echo the agent id exactly, in both trailers.
          const requested = (create.definition.requestDeserialize(bytes()) as Message)['agentId'];
          expect(readErrorDetails(answer.metadata)).toMatchObject({ agentId: requested });
          const [text] = answer.metadata.get('orgmesh-error-details');
          expect(JSON.parse(String(text))).toMatchObject({ agentId: requested });
        }
        await normal('orgmesh.v1.Sessions/ListSessions', { limit: 1 });
        expect(faults.faults).toEqual([]);
      },
    );

    it('answers bytes that are not the request message with INVALID_ARGUMENT naming the message type', async () => {
      const answer = await call(
        method('orgmesh.v1.Sessions/CreateSession'),
        Buffer.from([0x08, 0xff]),
        as('agent'),
      );
      expect(answer.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(answer.details).toMatch(
        /^orgmesh\.v1\.Sessions\/CreateSession: the request is not a valid orgmesh\.v1\.CreateSessionRequest message: /,
      );
      expect(answer.metadata.get('orgmesh-error-code')).toEqual(['validation_failed']);
    });

    it('refuses JSON nested beyond the limits as INVALID_ARGUMENT, from 65 levels to 3,000', async () => {
      const create = method('orgmesh.v1.Sessions/CreateSession');
      const shallow = await call(
        create,
        encode(create, { agentId: 'finance-agent', metadata: toProtoStruct({ a: deepJson(65) as Message }) }),
        as('agent'),
      );
      expect(shallow.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(shallow.details).toContain('metadata');
      // 3,000 levels cannot even be encoded by protobufjs: the bytes are written by hand.
      const entry = (inner: Buffer) => Buffer.concat([field(1, Buffer.from('a')), field(2, inner)]);
      let value: Buffer = Buffer.from([0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
      for (let i = 0; i < 3_000; i += 1) value = field(5, field(1, entry(value)));
      const deep = Buffer.concat([field(1, Buffer.from('finance-agent')), field(4, field(1, entry(value)))]);
      const answer = await call(create, deep, as('agent'));
      expect(answer.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(answer.details).toContain('nested deeper than');
    });

    it('names fields in proto terms and methods by their gRPC name', async () => {
      const invalid = await call(
        method('orgmesh.v1.Registry/LoadRegistry'),
        encode(method('orgmesh.v1.Registry/LoadRegistry'), { files: [{ path: '', content: 'x' }] }),
        as('admin'),
      );
      expect(invalid.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(readErrorDetails(invalid.metadata)).toMatchObject({ issues: [{ path: 'files[0].path' }] });
      expect(invalid.details).toContain('files[0].path: ');
      expect(invalid.details).not.toMatch(/\bbody\./);

      const send = method('orgmesh.v1.Mesh/SendTask');
      const nested = await call(
        send,
        encode(send, { to: { role: 'manager', agentId: '' }, type: 'review' }),
        as('agent'),
      );
      expect(nested.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(readErrorDetails(nested.metadata)).toMatchObject({
        issues: expect.arrayContaining([expect.objectContaining({ path: 'to.agent_id' })]),
      });
      expect(nested.details).not.toMatch(/agentId|body\./);

      const load = method('orgmesh.v1.Registry/LoadRegistry');
      const refused = await call(load, encode(load, { files: [{ path: 'a', content: 'b' }] }), as('agent'));
      expect(refused.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(refused.details).toContain('orgmesh.v1.Registry/LoadRegistry requires admin');
      expect(refused.details).not.toContain('/v1/registry');
    });

    it('refuses an empty idempotency-key naming the metadata key, and creates nothing', async () => {
      const send = method('orgmesh.v1.Mesh/SendTask');
      const contextId = `ctx-${randomUUID()}`;
      const answer = await call(
        send,
        encode(send, { to: { role: 'manager' }, type: 'review', contextId }),
        as('agent', ''),
      );
      expect(answer.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(readErrorDetails(answer.metadata)).toMatchObject({
        issues: [{ path: 'metadata.idempotency-key' }],
      });
      const listed = await normal('orgmesh.v1.Mesh/ListTasks', { contextId, limit: 10 });
      expect(listed['items'] ?? []).toEqual([]);
    });

    it('refuses a WatchEvents cursor beyond any sequence as INVALID_ARGUMENT about the cursor field', async () => {
      const watch = method('orgmesh.v1.Events/WatchEvents');
      const answer = await call(watch, encode(watch, { cursor: 'mesh:99999999999999999999' }), as('admin'));
      expect(answer.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(answer.details).not.toContain('Last-Event-ID');
      expect(readErrorDetails(answer.metadata)).toMatchObject({ issues: [{ path: 'cursor' }] });
    });
  });
});

function field(number: number, payload: Buffer): Buffer {
  const length: number[] = [];
  let n = payload.length;
  while (n > 0x7f) {
    length.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  length.push(n);
  return Buffer.concat([Buffer.from([(number << 3) | 2, ...length]), payload]);
}

const WATCH_PATH = '/orgmesh.v1.Events/WatchEvents';

/**
 * One raw HTTP/2 request: its grpc-status (headers or trailers), 'reset' if the stream was reset,
 * 'streaming' if WatchEvents opened a live stream, or 'hang'.
 */
function rawHttp2(
  port: number,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve) => {
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    let status = 'reset';
    const done = (outcome: string) => {
      clearTimeout(timer);
      session.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done('hang'), timeoutMs);
    session.on('error', () => done('reset'));
    const stream = session.request(headers);
    const read = (fields: Record<string, unknown>) => {
      if (fields['grpc-status'] !== undefined) status = String(fields['grpc-status']);
    };
    stream.on('response', (fields: Record<string, unknown>) => {
      read(fields);
      // A server stream that accepted the request (an empty or unknown-field WatchEventsRequest is a
      // valid one) answers with headers and then stays open: that is an answer, not a hang.
      if (fields['grpc-status'] === undefined && fields[':status'] === 200 && headers[':path'] === WATCH_PATH)
        done('streaming');
    });
    stream.on('trailers', read);
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    stream.on('close', () => done(status));
    stream.end(body);
  });
}
