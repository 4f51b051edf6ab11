import { describe, expect, it } from '@jest/globals';
import { ProtoJson, fromProtoStruct, fromProtoValue, toProtoStruct, toProtoValue } from './proto-json.js';
import { findProtoDir, grpcStatusFor, loadGatewayProtos } from './grpc.server.js';
import { ERROR_CODES } from '@orgmesh/contracts';

describe('google.protobuf.Value / Struct', () => {
  it('round-trips any JSON value', () => {
    const value = { a: 1, b: 'x', c: true, d: null, e: [1, { f: 'g' }], h: {} };
    expect(fromProtoValue(toProtoValue(value))).toEqual(value);
    expect(fromProtoStruct(toProtoStruct(value))).toEqual(value);
    expect(toProtoValue('s')).toEqual({ stringValue: 's' });
  });
});

describe('ProtoJson', () => {
  const mapper = new ProtoJson(loadGatewayProtos(findProtoDir()));

  it('maps a contract Task to the proto message: JSON fields to Values, null to unset, unknown fields dropped', () => {
    const out = mapper.toProto('Task', {
      id: 't1',
      kind: 'task',
      from: { agentId: 'finance-agent', role: 'finance', extra: 'dropped' },
      to: { role: 'legal', agentId: null },
      assignee: null,
      input: { amount: 12000 },
      result: null,
      history: [
        {
          seq: 1,
          event: 'create',
          from: null,
          to: 'submitted',
          actor: 'finance-agent',
          reason: null,
          occurredAt: 'now',
        },
      ],
      notInProto: 1,
    });
    expect(out).toEqual({
      id: 't1',
      kind: 'task',
      from: { agentId: 'finance-agent', role: 'finance' },
      to: { role: 'legal' },
      input: { structValue: { fields: { amount: { numberValue: 12000 } } } },
      history: [{ seq: 1, event: 'create', to: 'submitted', actor: 'finance-agent', occurredAt: 'now' }],
    });
  });

  it('maps a decoded request back to contract JSON, keeping maps as objects', () => {
    expect(
      mapper.fromProto('CreateSessionRequest', {
        agentId: 'a',
        metadata: { fields: { k: { listValue: { values: [{ boolValue: true }] } } } },
        _role: 'role',
      }),
    ).toEqual({
      agentId: 'a',
      metadata: { k: [true] },
    });
    expect(
      mapper.toProto('GetAgentResponse', { expectedConfigHashes: { goose: 'sha256:x' }, version: 3 }),
    ).toEqual({ expectedConfigHashes: { goose: 'sha256:x' }, version: 3 });
  });

  it('names contract issue paths as proto field paths of the request', () => {
    const cases: Array<[string, string, string]> = [
      ['GetSessionRequest', 'path.id', 'id'],
      ['ListSessionsRequest', 'query.agentId', 'agent_id'],
      ['SendTaskRequest', 'body.to.agentId', 'to.agent_id'],
      ['SendTaskRequest', 'body.contextId', 'context_id'],
      // Struct keys are the caller's data, not fields.
      ['CreateSessionRequest', 'body.metadata.someKey', 'metadata.someKey'],
      ['LoadRegistryRequest', 'body.files.0.path', 'files[0].path'],
      ['CreateSessionRequest', 'header.Idempotency-Key', 'metadata.idempotency-key'],
      ['CreateSessionRequest', 'body', '(request)'],
      ['CreateSessionRequest', '(root)', '(root)'],
      // A downstream contract's own name for a field the proto calls otherwise: snake_case still.
      ['GetAgentRequest', 'agentId', 'agent_id'],
    ];
    for (const [type, path, expected] of cases)
      expect([type, path, mapper.fieldPath(type, path)]).toEqual([type, path, expected]);
  });

  it('has a gRPC status for every error code', () => {
    for (const code of ERROR_CODES) expect(typeof grpcStatusFor(code)).toBe('number');
  });
});
