import { describe, expect, it } from '@jest/globals';
import { decodeBoundedJson, MAX_BODY_DEPTH, nestsDeeperThan } from './codec.js';

const text = (value: string) => new TextEncoder().encode(value);

describe('decodeBoundedJson', () => {
  it('accepts a body nested up to the cap and refuses one level more with validation_failed', () => {
    const at = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    // depth counts the containers below the root: `[1]` is depth 0.
    expect(() => decodeBoundedJson(text(at(MAX_BODY_DEPTH + 1)), 'x')).not.toThrow();
    expect(() => decodeBoundedJson(text(at(MAX_BODY_DEPTH + 2)), 'x')).toThrow(
      expect.objectContaining({ code: 'validation_failed' }),
    );
  });

  it('checks a million levels without using the stack', () => {
    expect(
      nestsDeeperThan(JSON.parse(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`), MAX_BODY_DEPTH),
    ).toBe(true);
  });

  it('refuses bytes that are not UTF-8 JSON with validation_failed and a constant message', () => {
    expect(() => decodeBoundedJson(text('{"secret":'), 'x request')).toThrow(
      expect.objectContaining({
        code: 'validation_failed',
        message: 'invalid x request: body is not valid UTF-8 JSON',
      }),
    );
  });
});
