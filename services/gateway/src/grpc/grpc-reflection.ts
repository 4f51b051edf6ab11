import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
// The package's facade (ReflectionService) registers handlers that write without backpressure and
// outside any boundary; its request-to-response logic is public on the implementation class.
import { ReflectionV1Implementation } from '@grpc/reflection/build/src/implementations/reflection-v1.js';
import { AppError } from '@orgmesh/contracts';
import type { TokenBucketLimiter } from '@orgmesh/telemetry';
import type { BoundaryDeps } from './grpc-boundary.js';
import { PreSerialized, UndecodableRequest, guardedService } from './grpc-codec.js';
import { bareInternalStatus, toGrpcError } from './grpc-errors.js';

/** The reflection protocol versions served: v1, and v1alpha for older grpcurl/Postman builds. */
const REFLECTION_VERSIONS = ['v1', 'v1alpha'] as const;

/** The same options `@grpc/reflection` loads its protos with: its handler expects messages in that shape. */
const REFLECTION_LOADER_OPTIONS: protoLoader.Options = {
  longs: String,
  enums: String,
  bytes: Array,
  defaults: true,
  oneofs: true,
};

export interface ReflectionDeps extends BoundaryDeps {
  limiter: TokenBucketLimiter;
}

function reflectionService(version: (typeof REFLECTION_VERSIONS)[number]): grpc.ServiceDefinition {
  const packageDir = dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json'));
  const file = join(packageDir, 'build', 'proto', 'grpc', 'reflection', version, 'reflection.proto');
  const loaded = grpc.loadPackageDefinition(
    protoLoader.loadSync(file, REFLECTION_LOADER_OPTIONS),
  ) as unknown as {
    grpc: { reflection: Record<string, { ServerReflection: grpc.ServiceClientConstructor }> };
  };
  const service = loaded.grpc.reflection[version]?.ServerReflection.service;
  if (!service) throw new Error(`grpc.reflection.${version}.ServerReflection missing from @grpc/reflection`);
  return service;
}

/** `ipv4:127.0.0.1:5555` / `ipv6:[::1]:5555` → the address without the port (the rate-limit key). */
function peerAddress(call: grpc.ServerDuplexStream<unknown, unknown>): string {
  const peer = call.getPeer();
  return peer.replace(/^ipv[46]:/, '').replace(/:\d+$/, '');
}

/**
 * gRPC server reflection (`grpc.reflection.v1` and `v1alpha`) over the gateway's protos, so
 * `grpcurl list` / `describe` and Postman work without the .proto files.
 *
 * Reflection answers without a token: it exposes the schema, which is public in the repository and
 * in the OpenAPI document, and tools fetch it before a user has configured credentials. Each
 * request still takes a token from the client address' rate-limit bucket (as a public REST route
 * does), responses wait for the client to read them (backpressure: a client that sends requests
 * without reading cannot make the gateway buffer), undecodable requests end the stream with
 * INVALID_ARGUMENT, and anything unexpected is logged, counted and answered as INTERNAL: the same
 * guarantees as the last-resort boundary of the real methods, which this does not touch.
 */
export function addReflection(
  server: Pick<grpc.Server, 'addService'>,
  definition: protoLoader.PackageDefinition,
  services: readonly string[],
  deps: ReflectionDeps,
): void {
  const reflection = new ReflectionV1Implementation(definition, { services: [...services] });
  for (const version of REFLECTION_VERSIONS) {
    const service = guardedService(reflectionService(version));
    const serialize = (service['ServerReflectionInfo'] as grpc.MethodDefinition<unknown, unknown>)
      .responseSerialize;
    const method = `grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`;
    const handler: grpc.handleBidiStreamingCall<unknown, unknown> = (call) => {
      const open = () => !call.cancelled && !call.writableEnded && !call.destroyed;
      let failed = false;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        try {
          if (!(error instanceof AppError)) {
            deps.metrics.unexpectedErrors.inc({ edge: 'grpc', subject: method });
            deps.logger.error({ err: error, method }, 'grpc reflection failed unexpectedly');
          }
          if (open()) call.emit('error', toGrpcError(error, { method, words: [] }));
        } catch {
          try {
            if (open()) call.emit('error', bareInternalStatus());
          } catch {
            // Nothing left to answer with: grpc-js ends the call when the client's deadline passes.
          }
        }
      };
      call.on('data', (message: unknown) => {
        if (failed) return;
        try {
          if (message instanceof UndecodableRequest) {
            throw new AppError(
              'validation_failed',
              `${method}: the request is not a valid ServerReflectionRequest: ${message.reason}`,
            );
          }
          const decision = deps.limiter.take(`ip:${peerAddress(call)}`);
          if (!decision.allowed) {
            deps.metrics.rateLimited.inc({ transport: 'grpc' });
            throw new AppError('rate_limited', 'too many requests', {
              details: { retryAfterSec: decision.retryAfterSec },
            });
          }
          const response = reflection.handleServerReflectionRequest(message as never);
          if (!open()) return;
          if (!call.write(new PreSerialized(serialize(response)))) {
            call.pause();
            call.once('drain', () => call.resume());
          }
        } catch (error) {
          fail(error);
        }
      });
      call.on('end', () => {
        if (!failed && open()) call.end();
      });
    };
    server.addService(service, { ServerReflectionInfo: handler });
  }
}
