import { createRequire } from 'node:module';
import type * as grpc from '@grpc/grpc-js';
import { JSON_LIMITS } from '@orgmesh/contracts';

/**
 * A request whose bytes are not a message of the method's request type. grpc-js answers a throwing
 * deserializer with INTERNAL "Error deserializing request" before any handler runs; returning this
 * instead lets the handler refuse it as the caller's mistake (INVALID_ARGUMENT), in its own words.
 */
export class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/** Response bytes serialised inside the handler's boundary (see `guardedService`). */
export class PreSerialized {
  constructor(readonly bytes: Buffer) {}
}

/**
 * Message nesting protobufjs encodes and decodes. Its default (100, protoc's) holds JSON only 49
 * levels deep in a google.protobuf.Value (two messages a level), while the contracts accept 64
 * (JSON_LIMITS): a task stored over REST with input 50 levels deep could not be read over gRPC.
 * Still low enough that protobufjs' recursive decoding of hostile bytes cannot exhaust the stack.
 */
export const PROTOBUF_NESTING_LIMIT = 2 * JSON_LIMITS.maxDepth + 32;

interface ProtobufLimits {
  util: { recursionLimit: number };
  Reader: { recursionLimit: number };
}

/** Sets PROTOBUF_NESTING_LIMIT on the protobufjs that proto-loader uses (process-wide; idempotent). */
export function fitProtobufNestingToContracts(): void {
  const fromProtoLoader = createRequire(createRequire(import.meta.url).resolve('@grpc/proto-loader'));
  const protobuf = fromProtoLoader('protobufjs') as ProtobufLimits;
  protobuf.util.recursionLimit = Math.max(protobuf.util.recursionLimit, PROTOBUF_NESTING_LIMIT);
  protobuf.Reader.recursionLimit = Math.max(protobuf.Reader.recursionLimit, PROTOBUF_NESTING_LIMIT);
}

function describe(error: unknown): string {
  if (error instanceof Error && /nesting depth|call stack/i.test(error.message))
    return `messages nested deeper than ${PROTOBUF_NESTING_LIMIT} levels`;
  const message = error instanceof Error ? error.message : String(error);
  // protobufjs' reasons are short ASCII ("invalid wire type 7 at offset 3"); bound them anyway.
  return message.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

/**
 * The service definition with every method's deserializer made total (a decode failure, such as
 * nesting beyond PROTOBUF_NESTING_LIMIT, becomes an `UndecodableRequest`) and its serializer accepting bytes that
 * the handler already serialised, so a response that cannot be encoded fails inside the handler's
 * boundary as a typed `internal` error instead of grpc-js' own INTERNAL.
 */
export function guardedService(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const guarded: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(
    service as Record<string, grpc.MethodDefinition<unknown, unknown>>,
  )) {
    const deserialize = method.requestDeserialize;
    const serialize = method.responseSerialize;
    guarded[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return deserialize(bytes);
        } catch (error) {
          return new UndecodableRequest(describe(error));
        }
      },
      responseSerialize: (value: unknown) =>
        value instanceof PreSerialized ? value.bytes : serialize(value),
    };
  }
  return guarded as grpc.ServiceDefinition;
}
