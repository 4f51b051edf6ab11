import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { boundedJson, checkJsonBounds, safeText, toWellFormed } from './safe-input.js';

function deep(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
}

describe('safe input', () => {
  it('refuses NUL and lone surrogates in text, accepts other Unicode', () => {
    const schema = safeText(z.string().max(10));
    expect(schema.safeParse('a\u0000b').success).toBe(false);
    expect(schema.safeParse('\ud800').success).toBe(false);
    expect(schema.safeParse('x\udfffy').success).toBe(false);
    expect(schema.safeParse('é💥').success).toBe(true);
    expect(schema.safeParse('x'.repeat(11)).success).toBe(false);
  });

  it('refuses JSON nested past the limit without using the stack, even 100,000 levels deep', () => {
    expect(checkJsonBounds(deep(64))).toBeUndefined();
    expect(checkJsonBounds(deep(65))?.message).toMatch(/nested deeper than 64/);
    const result = boundedJson().safeParse(deep(100_000));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/nested deeper than 64/);
  });

  it('refuses too many nodes and unsafe strings, keys included, naming the path', () => {
    expect(
      checkJsonBounds(
        Array.from({ length: 10 }, () => 1),
        { maxDepth: 5, maxNodes: 5 },
      )?.message,
    ).toMatch(/more than 5/);
    expect(checkJsonBounds({ a: [1, 'x\u0000'] })).toEqual({
      path: 'a[1]',
      message: 'must not contain NUL (U+0000)',
    });
    expect(checkJsonBounds({ a: { '\ud800': 1 } })?.message).toMatch(/key must not contain a lone surrogate/);
  });

  it('passes ordinary JSON through unchanged', () => {
    const value = { amount: 125000, tags: ['q4', null, true], nested: { ok: 'é' } };
    expect(boundedJson().parse(value)).toEqual(value);
    expect(boundedJson().safeParse(() => 1).success).toBe(false);
  });
});

describe('toWellFormed', () => {
  it('replaces lone surrogates with U+FFFD and keeps pairs', () => {
    expect(toWellFormed('a\ud800b\udfffc💥')).toBe('a\ufffdb\ufffdc💥');
  });
});
