import { describe, expect, it } from '@jest/globals';
import type { z } from 'zod';
import { allContracts, type RpcDefinition } from './define.js';
import { unsafeSchemaPlaces } from './schema-audit.js';
import './index.js';
import { CreateSession, ListSessions } from './sessions/index.js';
import { AssignProfile, GetManager, ImportOrg, LoadRegistry } from './registry/index.js';
import {
  CancelTask,
  Decide,
  ListTasks,
  Notify,
  RequestApproval,
  SendTask,
  UpdateTask,
} from './mesh/index.js';

function deep(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

describe('request contracts refuse hostile input', () => {
  // Every RPC of every context, so a new contract is held to the rule as soon as it is defined.
  const rpcs = allContracts().filter((c): c is RpcDefinition => c.kind === 'rpc');

  it('has no string that takes NUL or a lone surrogate and no unbounded JSON in any request', () => {
    expect(rpcs.length).toBeGreaterThanOrEqual(24);
    expect(rpcs.flatMap((rpc) => unsafeSchemaPlaces(rpc.request, rpc.subject))).toEqual([]);
  });

  it('finds what the walk is for: a plain string and z.json() are reported', async () => {
    const { z } = await import('zod');
    const places = unsafeSchemaPlaces(
      z.object({ a: z.string(), b: z.json().optional(), c: z.record(z.string(), z.unknown()) }),
      'x',
    );
    expect(places).toEqual(
      [
        'x.a: takes NUL',
        'x.a: takes a lone surrogate',
        'x.b: free-form value without bounds',
        'x{key}: takes NUL',
        'x{key}: takes a lone surrogate',
        'x{}: free-form value without bounds',
      ].map((p) => p.replace('x{', 'x.c{')),
    );
  });

  const id = '7a0c1f3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f';
  const cases: Array<[string, z.ZodType, Record<string, unknown>, string]> = [
    ['send-task type', SendTask.request, { to: 'finance', type: '\u0000' }, 'type'],
    ['send-task type (lone surrogate)', SendTask.request, { to: 'finance', type: 'x\udc00' }, 'type'],
    [
      'send-task input',
      SendTask.request,
      { to: 'finance', type: 'review', input: { a: 'b\u0000' } },
      'input',
    ],
    [
      'send-task contextId',
      SendTask.request,
      { to: 'finance', type: 'review', contextId: 'c\u0000' },
      'contextId',
    ],
    ['approval subject', RequestApproval.request, { to: 'manager', subject: 'q3\u0000' }, 'subject'],
    [
      'approval details',
      RequestApproval.request,
      { to: 'manager', subject: 'q3', details: ['\ud800'] },
      'details',
    ],
    ['notification message', Notify.request, { to: 'legal', message: '\u0000' }, 'message'],
    ['update reason', UpdateTask.request, { id, state: 'failed', reason: 'r\u0000' }, 'reason'],
    ['update result', UpdateTask.request, { id, state: 'completed', result: { '\u0000': 1 } }, 'result'],
    ['decision comment', Decide.request, { id, decision: 'approve', comment: '\ud800' }, 'comment'],
    ['cancel reason', CancelTask.request, { id, reason: '\u0000' }, 'reason'],
    ['list-tasks contextId', ListTasks.request, { contextId: '\u0000' }, 'contextId'],
    ['list-sessions agentId', ListSessions.request, { agentId: 'a\u0000' }, 'agentId'],
    [
      'create-session metadata',
      CreateSession.request,
      { agentId: 'a', role: 'r', metadata: { k: '\u0000' } },
      'metadata',
    ],
    ['get-manager userId', GetManager.request, { userId: 'abc\u0000def' }, 'userId'],
    ['assign-profile userId', AssignProfile.request, { userId: '\ud800', profileId: 'finance' }, 'userId'],
    ['import-org csv', ImportOrg.request, { csv: 'user_id\u0000' }, 'csv'],
    [
      'registry file content',
      LoadRegistry.request,
      { files: [{ path: 'a.yaml', content: '\u0000' }] },
      'files',
    ],
  ];

  it.each(cases)('refuses %s, naming the field', (_name, schema, payload, field) => {
    const result = schema.safeParse(payload);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path[0])).toContain(field);
  });

  it('refuses JSON nested 3,000 (and 2,000) levels deep in input, details and metadata, naming the limit', () => {
    for (const depth of [2000, 3000]) {
      for (const [schema, payload] of [
        [SendTask.request, { to: 'finance', type: 'review', input: deep(depth) }],
        [RequestApproval.request, { to: 'manager', subject: 's', details: deep(depth) }],
        [CreateSession.request, { agentId: 'a', role: 'r', metadata: { deep: deep(depth) } }],
      ] as const) {
        const result = (schema as z.ZodType).safeParse(payload);
        expect(result.success).toBe(false);
        expect(result.error?.issues[0]?.message).toMatch(/nested deeper than 64 levels/);
        // The refused value does not travel on inside the error (logging it would recurse).
        expect(result.error?.issues[0]).not.toHaveProperty('input');
      }
    }
  });

  it('documents bounded JSON exactly as z.json(), for JSON Schema and OpenAPI consumers', async () => {
    const { z } = await import('zod');
    const { contractSchema } = await import('./json-schema.js');
    const { boundedJson } = await import('./safe-input.js');
    for (const io of ['input', 'output'] as const)
      expect(z.toJSONSchema(z.object({ v: boundedJson() }), { io })).toEqual(
        z.toJSONSchema(z.object({ v: z.json() }), { io }),
      );
    const request = contractSchema(SendTask).schemas['request'] as { properties: Record<string, unknown> };
    expect(request.properties['input']).toEqual({ $ref: expect.stringMatching(/^#\/\$defs\//) });
  });

  it('accepts ordinary values, Unicode included', () => {
    expect(
      SendTask.request.safeParse({ to: 'finance', type: 'révision 💼', input: { a: [1, 'é'] } }).success,
    ).toBe(true);
    expect(
      CreateSession.request.safeParse({ agentId: 'a', role: 'r', metadata: { n: { m: 1 } } }).success,
    ).toBe(true);
    expect(CreateSession.request.safeParse({ agentId: 'a', role: 'r', metadata: [1] }).success).toBe(false);
  });
});
