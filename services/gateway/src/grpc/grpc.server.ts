import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { z } from 'zod';
import { AppError } from '@orgmesh/contracts';
import type { Logger, TokenBucketLimiter } from '@orgmesh/telemetry';
import type { Caller } from '../auth/caller.js';
import type { GatewayIdentity } from '../auth/identity.js';
import type { EventHub } from '../events/event-hub.js';
import { planSubjects } from '../events/subscription.js';
import type { GatewayMetrics } from '../gateway.metrics.js';
import { checkIdempotencyKey, type RouteExecutor } from '../routes/executor.js';
import type { Route, RpcRoute } from '../routes/route.js';
import { guardServerStream, guardUnary, type GuardedMethod, type StreamWrite } from './grpc-boundary.js';
import { UndecodableRequest, fitProtobufNestingToContracts, guardedService } from './grpc-codec.js';
import { addReflection } from './grpc-reflection.js';
import { ProtoJson, toProtoValue } from './proto-json.js';

export { grpcStatusFor, toGrpcError, readErrorDetails } from './grpc-errors.js';

export const PROTO_FILES = ['sessions.proto', 'mesh.proto', 'registry.proto', 'events.proto'];

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
};

/** `libs/contracts/proto`, found from this module's location (src under jest, dist under node). */
export function findProtoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'libs', 'contracts', 'proto');
    if (existsSync(join(candidate, 'sessions.proto'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const fromCwd = resolve('libs/contracts/proto');
  if (existsSync(join(fromCwd, 'sessions.proto'))) return fromCwd;
  throw new Error('libs/contracts/proto not found (set GATEWAY_PROTO_DIR)');
}

export function loadGatewayProtos(
  protoDir: string,
  overrides: protoLoader.Options = {},
): protoLoader.PackageDefinition {
  return protoLoader.loadSync(PROTO_FILES, {
    ...PROTO_LOADER_OPTIONS,
    ...overrides,
    includeDirs: [protoDir],
  });
}

export interface GrpcServerOptions {
  routes: readonly Route[];
  executor: RouteExecutor;
  identity: GatewayIdentity;
  hub: EventHub;
  limiter: TokenBucketLimiter;
  metrics: GatewayMetrics;
  logger: Logger;
  protoDir: string;
  maxMessageBytes: number;
  /** Serve gRPC server reflection (grpc-reflection.ts); default on. */
  reflection?: boolean;
}

function shapeKeys(schema: z.ZodType | undefined): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape as Record<string, unknown>) : [];
}

const PACKAGE = 'orgmesh.v1';

/** One method of the loaded protos: its full name, message type names and response serializer. */
interface ProtoMethod {
  /** `orgmesh.v1.Sessions/CreateSession` */
  name: string;
  requestType: string;
  responseType: string;
  serialize: (message: unknown) => Buffer;
}

function protoMethod(
  serviceName: string,
  methodName: string,
  definition: protoLoader.MethodDefinition<object, object>,
): ProtoMethod {
  const typeName = (type: protoLoader.MessageTypeDefinition<object, object>) =>
    (type.type as { name?: string }).name ?? '';
  return {
    name: `${PACKAGE}.${serviceName}/${methodName}`,
    requestType: typeName(definition.requestType),
    responseType: typeName(definition.responseType),
    serialize: definition.responseSerialize as (message: unknown) => Buffer,
  };
}

/** A request that did not decode: INVALID_ARGUMENT naming the method, the message type and why. */
function undecodable(method: ProtoMethod, reason: string): AppError {
  return new AppError(
    'validation_failed',
    `${method.name}: the request is not a valid ${PACKAGE}.${method.requestType} message: ${reason}`,
    { details: { issues: [{ path: '(request)', message: reason }] } },
  );
}

/**
 * The gRPC edge: Sessions, Mesh and Registry answer through the same route table as REST (a
 * method's request message is the route's path params, query and body, flat), and Events streams
 * the same subscriptions as SSE. Metadata `authorization` is verified exactly like the REST header.
 * Every method runs inside a last-resort boundary (grpc-boundary.ts) and every request decodes
 * totally (grpc-codec.ts): no input reaches grpc-js or the process as an exception.
 */
export class GatewayGrpcServer {
  private readonly server: grpc.Server;
  private readonly mapper: ProtoJson;
  private readonly streams = new Set<() => void>();

  constructor(private readonly options: GrpcServerOptions) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    });
    fitProtobufNestingToContracts();
    const definition = loadGatewayProtos(options.protoDir);
    this.mapper = new ProtoJson(definition);
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      orgmesh: { v1: Record<string, grpc.ServiceClientConstructor> };
    };
    const services = loaded.orgmesh.v1;
    const byBinding = new Map<string, RpcRoute>();
    for (const route of options.routes) {
      if (route.kind === 'rpc' && route.grpc)
        byBinding.set(`${route.grpc.service}/${route.grpc.method}`, route);
    }
    const serviceNames = ['Sessions', 'Mesh', 'Registry', 'Events'] as const;
    for (const serviceName of serviceNames) {
      const service = services[serviceName]?.service;
      if (!service) throw new Error(`proto service ${PACKAGE}.${serviceName} missing`);
      const methods = definition[`${PACKAGE}.${serviceName}`] as protoLoader.ServiceDefinition;
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const [methodName, methodDefinition] of Object.entries(methods)) {
        const method = protoMethod(serviceName, methodName, methodDefinition);
        if (serviceName === 'Events' && methodName === 'WatchEvents') {
          implementation[methodName] = guardServerStream(this.options, this.terms(method), (call, write) =>
            this.watch(method, call, write),
          );
          continue;
        }
        const route = byBinding.get(`${serviceName}/${methodName}`);
        implementation[methodName] = guardUnary(this.options, this.terms(method, route), (call) =>
          route ? this.unary(method, route, call) : this.unimplemented(method),
        );
      }
      this.server.addService(guardedService(service), implementation);
    }
    if (options.reflection !== false) {
      // The descriptors as written (snake_case fields): the handlers' definition is camelCased by
      // proto-loader, and grpcurl would show, and expect in its JSON, names the .proto files lack.
      addReflection(
        this.server,
        loadGatewayProtos(options.protoDir, { keepCase: true }),
        serviceNames.map((name) => `${PACKAGE}.${name}`),
        options,
      );
    }
  }

  async listen(port: number, host: string): Promise<number> {
    return new Promise((resolvePort, reject) => {
      this.server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
        if (error) reject(error);
        else resolvePort(bound);
      });
    });
  }

  async close(graceMs = 5_000): Promise<void> {
    for (const end of this.streams) end();
    await new Promise<void>((resolveClose) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolveClose();
      }, graceMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolveClose();
      });
    });
  }

  /** Errors in the method's own terms: its name for the REST operation, proto field paths. */
  private terms(method: ProtoMethod, route?: RpcRoute): GuardedMethod {
    const watch = method.requestType === 'WatchEventsRequest';
    return {
      method: method.name,
      serialize: method.serialize,
      words: route ? [[`${route.method} ${route.path}`, method.name]] : [],
      fieldPath: (path) => {
        // The event hub's subject filter is the SSE query's; its cursor errors name `cursor` already.
        if (watch && path === 'query.subject') return 'subjects';
        return this.mapper.fieldPath(method.requestType, path);
      },
    };
  }

  private async unimplemented(method: ProtoMethod): Promise<never> {
    throw new AppError('method_not_allowed', `${method.name} is not implemented`);
  }

  private async authenticate(metadata: grpc.Metadata): Promise<Caller> {
    const [value] = metadata.get('authorization');
    try {
      const caller = await this.options.identity.authenticate(typeof value === 'string' ? value : undefined);
      const decision = this.options.limiter.take(`sub:${caller.subject}`);
      if (!decision.allowed) {
        this.options.metrics.rateLimited.inc({ transport: 'grpc' });
        throw new AppError('rate_limited', 'too many requests', {
          details: { retryAfterSec: decision.retryAfterSec },
        });
      }
      return caller;
    } catch (error) {
      if (error instanceof AppError && (error.code === 'unauthenticated' || error.code === 'forbidden')) {
        this.options.metrics.authFailures.inc({ transport: 'grpc', code: error.code });
      }
      throw error;
    }
  }

  /** The decoded request as contract JSON, or INVALID_ARGUMENT if its bytes were not the message. */
  private requestFields(method: ProtoMethod, request: unknown): Record<string, unknown> {
    if (request instanceof UndecodableRequest) throw undecodable(method, request.reason);
    return this.mapper.fromProto(method.requestType, request);
  }

  private async unary(
    method: ProtoMethod,
    route: RpcRoute,
    call: grpc.ServerUnaryCall<unknown, unknown>,
  ): Promise<unknown> {
    const caller = await this.authenticate(call.metadata);
    const fields = this.requestFields(method, call.request);
    const paramKeys = shapeKeys(route.params);
    const queryKeys = shapeKeys(route.query);
    const params: Record<string, unknown> = {};
    const query: Record<string, unknown> = {};
    const body: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) {
      if (paramKeys.includes(key)) params[key] = value;
      // REST query parameters are strings; gRPC's typed values take the same parsing path.
      else if (queryKeys.includes(key)) query[key] = String(value);
      else body[key] = value;
    }
    // grpc-js splits a metadata value at commas; joined again, the key is exactly what was sent.
    // An empty value stays empty, so the shared check refuses it like an empty REST header.
    const keys = call.metadata.get('idempotency-key');
    const key = checkIdempotencyKey(keys.length ? keys.map(String).join(',') : undefined);
    const result = await this.options.executor.execute(route, { params, query, body }, caller, key);
    return this.mapper.toProto(method.responseType, result);
  }

  private async watch(
    method: ProtoMethod,
    call: grpc.ServerWritableStream<unknown, unknown>,
    write: StreamWrite,
  ): Promise<void> {
    const caller = await this.authenticate(call.metadata);
    const request = this.requestFields(method, call.request) as { subjects?: string[]; cursor?: string };
    const plan = planSubjects(request.subjects?.join(','));
    const subscription = await this.options.hub.subscribe({
      plan,
      cursor: request.cursor,
      cursorSource: 'cursor',
      caller,
    });
    const end = () => void subscription.close();
    this.streams.add(end);
    call.once('cancelled', end);
    call.once('close', end);
    // The client may have gone while the subscription was set up: 'cancelled' has fired already then.
    if (call.cancelled) end();
    this.options.metrics.subscriptions.inc({ transport: 'grpc' });
    try {
      // Headers now tell the client the subscription is live, before the first event.
      call.sendMetadata(new grpc.Metadata());
      for await (const event of subscription) {
        const message = {
          subject: event.subject,
          sequence: event.sequence,
          cursor: event.cursor,
          eventId: event.eventId ?? undefined,
          publishedAt: event.publishedAt,
          payload: toProtoValue(event.payload),
        };
        if (!write(message)) {
          await new Promise<void>((resolveDrain) => {
            const done = () => {
              call.off('drain', done);
              call.off('cancelled', done);
              resolveDrain();
            };
            call.once('drain', done);
            call.once('cancelled', done);
          });
        }
        this.options.metrics.eventsDelivered.inc({ transport: 'grpc' });
      }
    } finally {
      this.options.metrics.subscriptions.dec({ transport: 'grpc' });
      this.streams.delete(end);
      end();
    }
  }
}
