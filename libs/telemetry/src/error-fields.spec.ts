import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { unexpectedErrorFields, unexpectedErrorsCounter } from './error-fields.js';

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

describe('unexpectedErrorsCounter', () => {
  it('is one counter per registry, whichever edge asks first', () => {
    const registry = new Registry();
    const first = unexpectedErrorsCounter(registry);
    expect(unexpectedErrorsCounter(registry)).toBe(first);
    expect(unexpectedErrorsCounter(new Registry())).not.toBe(first);
  });
});
