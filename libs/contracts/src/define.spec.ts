import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { defineEvent, defineRpc, streamNameFor } from './define.js';
import { AppError, httpStatusFor, parseOrThrow, ERROR_CODES, fromErrorBody, toErrorBody } from './errors.js';

describe('defineEvent / defineRpc', () => {
  it('derives the context from the subject', () => {
    const e = defineEvent({ subject: 'testctx.v1.thing-happened', schema: z.object({ id: z.string() }) });
    expect(e.context).toBe('testctx');
    const r = defineRpc({ subject: 'rpc.testctx.v1.do-thing', request: z.object({}), response: z.object({}) });
    expect(r.context).toBe('testctx');
    expect(streamNameFor('mesh-router')).toBe('MESH_ROUTER');
  });

  it('refuses subjects that break the naming rules', () => {
    expect(() => defineEvent({ subject: 'Sessions.v1.created', schema: z.object({}) })).toThrow(/invalid event subject/);
    expect(() => defineRpc({ subject: 'sessions.v1.create', request: z.object({}), response: z.object({}) })).toThrow(
      /invalid rpc subject/,
    );
  });
});

describe('errors', () => {
  it('maps every code to an HTTP status', () => {
    for (const code of ERROR_CODES) expect(httpStatusFor(code)).toBeGreaterThanOrEqual(400);
    expect(httpStatusFor('session_illegal_transition')).toBe(409);
    expect(httpStatusFor('unavailable')).toBe(503);
  });

  it('names every invalid field path', () => {
    const schema = z.object({ a: z.string(), b: z.object({ c: z.number() }) });
    try {
      parseOrThrow(schema, { a: 1, b: { c: 'x' } }, 'payload');
      throw new Error('expected a validation error');
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      const app = error as AppError;
      expect(app.code).toBe('validation_failed');
      expect(app.message).toContain('a:');
      expect(app.message).toContain('b.c:');
      expect(app.details?.['issues']).toHaveLength(2);
    }
  });

  it('round-trips through the wire body', () => {
    const original = new AppError('session_not_found', 'no session s1', { details: { id: 's1' } });
    const rebuilt = fromErrorBody(JSON.parse(JSON.stringify(toErrorBody(original))));
    expect(rebuilt.code).toBe('session_not_found');
    expect(rebuilt.message).toBe('no session s1');
    expect(rebuilt.details).toEqual({ id: 's1' });
    expect(toErrorBody(new Error('secret detail')).error).toEqual({ code: 'internal', message: 'internal error' });
  });
});
