import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import './index.js';
import { allContractSchemas } from './json-schema.js';
import { ApplySessionEvent } from './sessions/index.js';

describe('contract JSON Schema export', () => {
  const schemas = allContractSchemas();

  it('exports every contract, RPCs with request and response, events with a payload', () => {
    const subjects = schemas.map((s) => s.subject);
    expect(subjects).toEqual(expect.arrayContaining(['rpc.sessions.v1.apply-event', 'sessions.v1.transitioned']));
    for (const s of schemas) expect(Object.keys(s.schemas)).toEqual(s.kind === 'rpc' ? ['request', 'response'] : ['payload']);
  });

  it('produces schemas that a generic validator compiles and that agree with zod', () => {
    const ajv = new Ajv2020({ strict: false });
    for (const s of schemas) for (const schema of Object.values(s.schemas)) expect(() => ajv.compile(schema as object)).not.toThrow();
    const applyEvent = schemas.find((s) => s.subject === ApplySessionEvent.subject);
    const validate = ajv.compile(applyEvent!.schemas['request'] as object);
    const good = { id: '6f1c1d1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f', event: 'pause' };
    expect(validate(good)).toBe(true);
    expect(ApplySessionEvent.request.safeParse(good).success).toBe(true);
    expect(validate({ ...good, event: 'explode' })).toBe(false);
    expect(ApplySessionEvent.request.safeParse({ ...good, event: 'explode' }).success).toBe(false);
  });
});
