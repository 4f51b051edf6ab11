import { describe, expect, it } from '@jest/globals';
import { traceIdOf, unexpectedErrorFields } from './unexpected.js';

describe('unexpectedErrorFields', () => {
  it('keeps the type, a driver code and the frames, never the message', () => {
    const error = Object.assign(new TypeError('value "alice@example.test" is\nnot allowed'), {
      code: '22P02',
    });
    const fields = unexpectedErrorFields(error);
    expect(fields).toMatchObject({ errorType: 'TypeError', errorCode: '22P02' });
    expect(fields.stack).toMatch(/^at /);
    expect(JSON.stringify(fields)).not.toContain('alice');
  });

  it('describes a thrown non-error by its type only', () => {
    expect(unexpectedErrorFields('alice@example.test')).toEqual({ errorType: 'string' });
  });
});

describe('traceIdOf', () => {
  it('reads the trace id of a valid traceparent and nothing from a forged one', () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    expect(traceIdOf({ traceparent: `00-${traceId}-00f067aa0ba902b7-01` })).toBe(traceId);
    expect(traceIdOf({ traceparent: '00-zz-\u0000-01' })).toBeUndefined();
    expect(traceIdOf({})).toBeUndefined();
  });
});
