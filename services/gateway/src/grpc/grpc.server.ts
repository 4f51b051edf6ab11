import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { z } from 'zod';
import { AppError, type ErrorCode } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import type { Caller } from '../auth/caller.js';
import type { GatewayIdentity } from '../auth/identity.js';
import type { EventHub } from '../events/event-hub.js';
import { planSubjects } from '../events/subscription.js';
import type { GatewayMetrics } from '../gateway.metrics.js';
import type { RateLimiter } from '../http/rate-limiter.js';
import { checkIdempotencyKey, type RouteExecutor } from '../routes/executor.js';
import type { Route, RpcRoute } from '../routes/route.js';
import { ProtoJson, toProtoValue } from './proto-json.js';

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

export function loadGatewayProtos(protoDir: string): protoLoader.PackageDefinition {
  return protoLoader.loadSync(PROTO_FILES, { ...PROTO_LOADER_OPTIONS, includeDirs: [protoDir] });
}

/** The one gRPC status per orgmesh code (exhaustive, like httpStatusFor). */
export function grpcStatusFor(code: ErrorCode): grpc.status {
  switch (code) {
    case 'validation_failed':
    case 'invalid_cursor':
      return grpc.status.INVALID_ARGUMENT;
    case 'method_not_allowed':
      return grpc.status.UNIMPLEMENTED;
    case 'unauthenticated':
      return grpc.status.UNAUTHENTICATED;
    case 'forbidden':
    case 'policy_denied':
      return grpc.status.PERMISSION_DENIED;
    case 'not_found':
    case 'session_not_found':
    case 'task_not_found':
    case 'agent_not_found':
    case 'profile_not_found':
    case 'user_not_found':
      return grpc.status.NOT_FOUND;
    case 'session_illegal_transition':
    case 'task_illegal_transition':
    case 'privacy_strict_refused':
      return grpc.status.FAILED_PRECONDITION;
    case 'conflict':
      return grpc.status.ABORTED;
    case 'payload_too_large':
    case 'rate_limited':
      return grpc.status.RESOURCE_EXHAUSTED;
    case 'unavailable':
      return grpc.status.UNAVAILABLE;
    case 'timeout':
      return grpc.status.DEADLINE_EXCEEDED;
    case 'internal':
      return grpc.status.INTERNAL;
  }
}

/** A gRPC error carrying the orgmesh code (and details as JSON) in trailing metadata. */
export function toGrpcError(error: unknown): Partial<grpc.StatusObject> {
  const app = error instanceof AppError ? error : new AppError('internal', 'internal error');
  const metadata = new grpc.Metadata();
  metadata.set('orgmesh-error-code', app.code);
  if (app.details) metadata.set('orgmesh-error-details', JSON.stringify(app.details));
  return { code: grpcStatusFor(app.code), details: app.message, metadata };
}

export interface GrpcServerOptions {
  routes: readonly Route[];
  executor: RouteExecutor;
  identity: GatewayIdentity;
  hub: EventHub;
  limiter: RateLimiter;
  metrics: GatewayMetrics;
  logger: Logger;
  protoDir: string;
  maxMessageBytes: number;
}

function shapeKeys(schema: z.ZodType | undefined): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape as Record<string, unknown>) : [];
}

/**
 * The gRPC edge: Sessions, Mesh and Registry answer through the same route table as REST (a
 * method's request message is the route's path params, query and body, flat), and Events streams
 * the same subscriptions as SSE. Metadata `authorization` is verified exactly like the REST header.
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
    for (const serviceName of ['Sessions', 'Mesh', 'Registry'] as const) {
      const service = services[serviceName]?.service;
      if (!service) throw new Error(`proto service orgmesh.v1.${serviceName} missing`);
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const methodName of Object.keys(service)) {
        const route = byBinding.get(`${serviceName}/${methodName}`);
        const methodDefinition = (definition[`orgmesh.v1.${serviceName}`] as protoLoader.ServiceDefinition)[
          methodName
        ];
        const requestType = (methodDefinition?.requestType.type as { name?: string } | undefined)?.name ?? '';
        const responseType =
          (methodDefinition?.responseType.type as { name?: string } | undefined)?.name ?? '';
        implementation[methodName] = route
          ? this.unary(`${serviceName}/${methodName}`, route, requestType, responseType)
          : (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
              callback({
                code: grpc.status.UNIMPLEMENTED,
                details: `${serviceName}/${methodName} is not implemented`,
              });
      }
      this.server.addService(service, implementation);
    }
    const events = services['Events']?.service;
    if (!events) throw new Error('proto service orgmesh.v1.Events missing');
    this.server.addService(events, {
      WatchEvents: (call: grpc.ServerWritableStream<unknown, unknown>) => void this.watch(call),
    });
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

  private unary(name: string, route: RpcRoute, requestType: string, responseType: string) {
    const paramKeys = shapeKeys(route.params);
    const queryKeys = shapeKeys(route.query);
    return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      const finish = (code: grpc.status) =>
        this.options.metrics.grpcDuration.observe(
          { method: name, code: grpc.status[code] ?? String(code) },
          Number(process.hrtime.bigint() - started) / 1e9,
        );
      void (async () => {
        try {
          const caller = await this.authenticate(call.metadata);
          const fields = this.mapper.fromProto(requestType, call.request);
          const params: Record<string, unknown> = {};
          const query: Record<string, unknown> = {};
          const body: Record<string, unknown> = {};
          for (const [key, value] of Object.entries(fields)) {
            if (paramKeys.includes(key)) params[key] = value;
            // REST query parameters are strings; gRPC's typed values take the same parsing path.
            else if (queryKeys.includes(key)) query[key] = String(value);
            else body[key] = value;
          }
          const [idempotencyKey] = call.metadata.get('idempotency-key');
          const key = checkIdempotencyKey(typeof idempotencyKey === 'string' ? idempotencyKey : undefined);
          const result = await this.options.executor.execute(route, { params, query, body }, caller, key);
          callback(null, this.mapper.toProto(responseType, result));
          finish(grpc.status.OK);
        } catch (error) {
          const status = toGrpcError(error);
          if (!(error instanceof AppError))
            this.options.logger.error({ err: error, method: name }, 'grpc call failed unexpectedly');
          callback(status);
          finish(status.code ?? grpc.status.INTERNAL);
        }
      })();
    };
  }

  private async watch(call: grpc.ServerWritableStream<unknown, unknown>): Promise<void> {
    let end: (() => void) | undefined;
    try {
      const caller = await this.authenticate(call.metadata);
      const request = this.mapper.fromProto('WatchEventsRequest', call.request) as {
        subjects?: string[];
        cursor?: string;
      };
      const plan = planSubjects(request.subjects?.join(','));
      const subscription = await this.options.hub.subscribe({ plan, cursor: request.cursor, caller });
      end = () => void subscription.close();
      this.streams.add(end);
      call.once('cancelled', end);
      call.once('close', end);
      this.options.metrics.subscriptions.inc({ transport: 'grpc' });
      try {
        for await (const event of subscription) {
          const message = {
            subject: event.subject,
            sequence: event.sequence,
            cursor: event.cursor,
            eventId: event.eventId ?? undefined,
            publishedAt: event.publishedAt,
            payload: toProtoValue(event.payload),
          };
          if (!call.write(message)) {
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
        call.end();
      } finally {
        this.options.metrics.subscriptions.dec({ transport: 'grpc' });
      }
    } catch (error) {
      // grpc-js turns an 'error' on a server stream into the call's final status.
      if (!call.cancelled) call.emit('error', toGrpcError(error));
    } finally {
      if (end) this.streams.delete(end);
    }
  }
}
