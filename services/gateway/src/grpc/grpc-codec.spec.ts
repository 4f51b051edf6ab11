import { describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { JSON_LIMITS } from '@orgmesh/contracts';
import { findProtoDir, loadGatewayProtos } from './grpc.server.js';
import {
  PROTOBUF_NESTING_LIMIT,
  PreSerialized,
  UndecodableRequest,
  fitProtobufNestingToContracts,
  guardedService,
} from './grpc-codec.js';

const loaded = grpc.loadPackageDefinition(loadGatewayProtos(findProtoDir())) as unknown as {
  orgmesh: { v1: Record<string, grpc.ServiceClientConstructor> };
};
const sessions = loaded.orgmesh.v1['Sessions']!.service;
const guarded = guardedService(sessions);
const create = guarded['CreateSession']!;

fitProtobufNestingToContracts();

/** A CreateSessionRequest whose metadata Struct is nested `depth` JSON levels deep: {"a": {"a": … 1}}. */
function deepRequest(depth: number): unknown {
  let value: unknown = { numberValue: 1 };
  for (let i = 0; i < depth; i += 1) value = { structValue: { fields: { a: value } } };
  return { agentId: 'x', metadata: { fields: { a: value } } };
}

function lengthDelimited(field: number, payload: Buffer): Buffer {
  const length: number[] = [];
  let n = payload.length;
  while (n > 0x7f) {
    length.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  length.push(n);
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...length]), payload]);
}

/** The same as bytes, built by hand: protobufjs refuses to encode what it would refuse to decode. */
function deepRequestBytes(depth: number): Buffer {
  let value: Buffer = Buffer.from([0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]); // Value{number_value: 1}
  const entry = (inner: Buffer) =>
    Buffer.concat([lengthDelimited(1, Buffer.from('a')), lengthDelimited(2, inner)]);
  for (let i = 0; i < depth; i += 1) value = lengthDelimited(5, lengthDelimited(1, entry(value))); // Value{struct_value}
  return Buffer.concat([
    lengthDelimited(1, Buffer.from('x')),
    lengthDelimited(4, lengthDelimited(1, entry(value))),
  ]);
}

describe('guardedService', () => {
  it('decodes a valid request as before', () => {
    const bytes = sessions['CreateSession']!.requestSerialize({ agentId: 'finance-agent' });
    expect(create.requestDeserialize(bytes)).toEqual({ agentId: 'finance-agent' });
  });

  it('turns bytes that are not the message into an UndecodableRequest naming why, instead of throwing', () => {
    // Field 1 as a varint whose continuation byte never comes.
    const garbage = Buffer.from([0x08, 0xff]);
    expect(() => sessions['CreateSession']!.requestDeserialize(garbage)).toThrow();
    const decoded = create.requestDeserialize(garbage);
    expect(decoded).toBeInstanceOf(UndecodableRequest);
    expect((decoded as UndecodableRequest).reason).toMatch(/^[\x20-\x7e]+$/);
  });

  it('decodes JSON as deep as the contracts allow, and refuses deeper nesting as undecodable', () => {
    const bytes = sessions['CreateSession']!.requestSerialize(deepRequest(JSON_LIMITS.maxDepth));
    expect(create.requestDeserialize(bytes)).not.toBeInstanceOf(UndecodableRequest);
    const tooDeep = create.requestDeserialize(deepRequestBytes(PROTOBUF_NESTING_LIMIT));
    expect(tooDeep).toBeInstanceOf(UndecodableRequest);
    expect((tooDeep as UndecodableRequest).reason).toBe(
      `messages nested deeper than ${PROTOBUF_NESTING_LIMIT} levels`,
    );
    // Far deeper: refused by the limit, never a stack overflow.
    expect(create.requestDeserialize(deepRequestBytes(2_000))).toBeInstanceOf(UndecodableRequest);
  });

  it('passes bytes the handler serialised through, and serialises anything else as before', () => {
    const bytes = Buffer.from([1, 2, 3]);
    expect(create.responseSerialize(new PreSerialized(bytes))).toBe(bytes);
    const session = { id: 's', agentId: 'a' };
    expect(create.responseSerialize(session)).toEqual(sessions['CreateSession']!.responseSerialize(session));
  });
});
