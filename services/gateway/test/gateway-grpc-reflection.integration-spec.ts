import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import { startTestSessions } from '@orgmesh/sessions/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { devToken, startTestGateway } from './gateway-harness.js';

/*
 * A reflection client as grpcurl is one: it knows nothing of orgmesh's protos, asks the server for
 * them (grpc.reflection.v1), builds the types from the descriptors it receives and calls a method
 * with them. grpcurl itself is not installed here; this speaks the same protocol over grpc-js.
 */

const require = createRequire(import.meta.url);
// protobufjs as proto-loader uses it, with the descriptor extension (FileDescriptorProto <-> Root).
const fromProtoLoader = createRequire(require.resolve('@grpc/proto-loader'));
const descriptor = fromProtoLoader('protobufjs/ext/descriptor') as {
  FileDescriptorProto: { decode(bytes: Uint8Array): unknown };
  FileDescriptorSet: { fromObject(value: unknown): unknown };
};
const protobuf = fromProtoLoader('protobufjs') as {
  Root: { fromDescriptor(set: unknown): ProtobufRoot };
};
interface ProtobufType {
  encode(message: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options?: unknown): Record<string, unknown>;
  fromObject(value: unknown): unknown;
  fields: Record<string, { name: string }>;
}
interface ProtobufRoot {
  lookupService(name: string): { methods: Record<string, { requestType: string; responseType: string }> };
  lookupType(name: string): ProtobufType;
}

type Version = 'v1' | 'v1alpha';
type ReflectionStream = grpc.ClientDuplexStream<Record<string, unknown>, Record<string, any>>;

function reflectionClient(address: string, version: Version): grpc.Client & Record<string, any> {
  const dir = dirname(require.resolve('@grpc/reflection/package.json'));
  const definition = protoLoader.loadSync(
    join(dir, 'build', 'proto', 'grpc', 'reflection', version, 'reflection.proto'),
    { longs: String, enums: String, bytes: Array, defaults: true, oneofs: true },
  );
  const loaded = grpc.loadPackageDefinition(definition) as any;
  return new loaded.grpc.reflection[version].ServerReflection(address, grpc.credentials.createInsecure());
}

/** One request on a reflection stream and its one response (the stream stays open for the next). */
function ask(stream: ReflectionStream, request: Record<string, unknown>): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const onData = (response: Record<string, any>) => {
      stream.off('error', onError);
      resolve(response);
    };
    const onError = (error: Error) => {
      stream.off('data', onData);
      reject(error);
    };
    stream.once('data', onData);
    stream.once('error', onError);
    stream.write(request);
  });
}

function streamError(stream: ReflectionStream): Promise<grpc.ServiceError> {
  return new Promise((resolve) => {
    stream.on('data', () => undefined);
    stream.once('error', (error) => resolve(error as grpc.ServiceError));
  });
}

describe('gRPC server reflection (grpcurl list / describe)', () => {
  let ctx: TestContext;
  let sessionsApp: Awaited<ReturnType<typeof startTestSessions>>;
  let gateway: GatewayApp;
  let address: string;
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    sessionsApp = await startTestSessions(ctx);
    gateway = await startTestGateway(ctx);
    address = `127.0.0.1:${gateway.grpcPort}`;
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await gateway?.close();
    await sessionsApp?.close();
    await ctx?.dispose();
  });

  function open(version: Version = 'v1', metadata = new grpc.Metadata()): ReflectionStream {
    const client = reflectionClient(address, version);
    clients.push(client);
    return client['ServerReflectionInfo'](metadata) as ReflectionStream;
  }

  it.each(['v1', 'v1alpha'] as const)('lists the orgmesh services without a token (%s)', async (version) => {
    const stream = open(version);
    const listed = await ask(stream, { listServices: '*' });
    stream.end();
    expect(listed['messageResponse']).toBe('listServicesResponse');
    const names = (listed['listServicesResponse'].service as Array<{ name: string }>).map((s) => s.name);
    expect(names.sort()).toEqual(
      ['orgmesh.v1.Events', 'orgmesh.v1.Mesh', 'orgmesh.v1.Registry', 'orgmesh.v1.Sessions'].sort(),
    );
  });

  it('describes a service with proto (snake_case) field names, and a client built from it calls the method', async () => {
    const stream = open();
    const answer = await ask(stream, { fileContainingSymbol: 'orgmesh.v1.Sessions' });
    expect(answer['messageResponse']).toBe('fileDescriptorResponse');
    const files = (answer['fileDescriptorResponse'].fileDescriptorProto as number[][]).map((bytes) =>
      descriptor.FileDescriptorProto.decode(Uint8Array.from(bytes)),
    );
    // The descriptors are complete: google.protobuf.Struct and friends come with them.
    const root = protobuf.Root.fromDescriptor(descriptor.FileDescriptorSet.fromObject({ file: files }));
    const sessions = root.lookupService('orgmesh.v1.Sessions');
    expect(Object.keys(sessions.methods)).toEqual(
      expect.arrayContaining(['CreateSession', 'ListSessions', 'GetSession', 'ApplySessionEvent']),
    );
    const createRequest = root.lookupType('orgmesh.v1.CreateSessionRequest');
    expect(Object.values(createRequest.fields).map((f) => f.name)).toEqual(
      expect.arrayContaining(['agent_id', 'context_id', 'metadata']),
    );

    // A symbol that is not there is NOT_FOUND in the reflection answer, the stream stays usable.
    const missing = await ask(stream, { fileContainingSymbol: 'orgmesh.v1.Nope' });
    expect(missing['errorResponse']).toMatchObject({ errorCode: grpc.status.NOT_FOUND });
    const again = await ask(stream, { fileByFilename: 'no-such.proto' });
    expect(again['errorResponse']).toMatchObject({ errorCode: grpc.status.NOT_FOUND });
    stream.end();

    // grpcurl's next step: call the method with types from the reflected schema only.
    const request = createRequest.encode(createRequest.fromObject({ agent_id: 'finance-agent' })).finish();
    const response = root.lookupType(sessions.methods['CreateSession']?.responseType ?? '');
    const generic = new grpc.Client(address, grpc.credentials.createInsecure());
    clients.push(generic);
    const call = (metadata: grpc.Metadata) =>
      new Promise<Record<string, unknown>>((resolve, reject) =>
        generic.makeUnaryRequest(
          '/orgmesh.v1.Sessions/CreateSession',
          (bytes: Uint8Array) => Buffer.from(bytes),
          (bytes: Buffer) => response.toObject(response.decode(bytes)),
          request,
          metadata,
          (error, value) => (error ? reject(error) : resolve(value as Record<string, unknown>)),
        ),
      );
    // Reflection needed no token; the real method still does (its boundary and auth are unchanged).
    await expect(call(new grpc.Metadata())).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${await devToken(gateway, 'finance-agent')}`);
    await expect(call(metadata)).resolves.toMatchObject({ agent_id: 'finance-agent', role: 'finance' });
  });

  it('ends a stream whose request bytes are not a ServerReflectionRequest with INVALID_ARGUMENT', async () => {
    const generic = new grpc.Client(address, grpc.credentials.createInsecure());
    clients.push(generic);
    const stream = generic.makeBidiStreamRequest(
      '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
    ) as unknown as ReflectionStream;
    const failed = streamError(stream);
    // An unknown field (15) with wire type 7, which protobuf does not have: the decoder must skip it and cannot.
    stream.write(Buffer.from([0x7f]) as never);
    const error = await failed;
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.metadata.get('orgmesh-error-code')).toEqual(['validation_failed']);
    expect(error.details).toContain('ServerReflectionRequest');

    // The gateway is unharmed: the next reflection stream answers.
    const next = open();
    await expect(ask(next, { listServices: '*' })).resolves.toHaveProperty('listServicesResponse');
    next.end();
  });

  it("takes each request from the client address' rate-limit bucket (no token to limit by)", async () => {
    const limited = await startTestGateway(ctx, {
      GATEWAY_RATE_LIMIT_RPS: '1',
      GATEWAY_RATE_LIMIT_BURST: '3',
    });
    try {
      const client = reflectionClient(`127.0.0.1:${limited.grpcPort}`, 'v1');
      clients.push(client);
      const stream = client['ServerReflectionInfo']() as ReflectionStream;
      for (let i = 0; i < 3; i++)
        await expect(ask(stream, { listServices: '*' })).resolves.toHaveProperty('listServicesResponse');
      const failed = streamError(stream);
      stream.write({ listServices: '*' });
      const error = await failed;
      expect(error.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(error.metadata.get('orgmesh-error-code')).toEqual(['rate_limited']);
    } finally {
      await limited.close();
    }
  });

  it('is off with GATEWAY_GRPC_REFLECTION=false', async () => {
    const off = await startTestGateway(ctx, { GATEWAY_GRPC_REFLECTION: 'false' });
    try {
      const client = reflectionClient(`127.0.0.1:${off.grpcPort}`, 'v1');
      clients.push(client);
      const stream = client['ServerReflectionInfo']() as ReflectionStream;
      const failed = streamError(stream);
      stream.write({ listServices: '*' });
      expect((await failed).code).toBe(grpc.status.UNIMPLEMENTED);
    } finally {
      await off.close();
    }
  });
});
