import { describe, expect, it } from '@jest/globals';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('ignores the order of object keys at any depth (jsonb reorders them), not the order of array items', () => {
    const sent = { text: 'Q3', a2a: { message: { role: 'ROLE_USER', messageId: 'm' }, earlier: [1, 2] } };
    const stored = { a2a: { earlier: [1, 2], message: { messageId: 'm', role: 'ROLE_USER' } }, text: 'Q3' };
    expect(canonicalJson(sent)).toBe(canonicalJson(stored));
    expect(canonicalJson({ ...sent, text: 'Q4' })).not.toBe(canonicalJson(stored));
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
    expect(canonicalJson(null)).toBe('null');
  });

  it('writes a Date as JSON does, drops undefined members, and indents on request', () => {
    const at = new Date('2026-12-06T10:00:00.000Z');
    expect(canonicalJson({ b: at, a: undefined, c: [undefined] })).toBe(JSON.stringify({ b: at, c: [null] }));
    expect(canonicalJson({ b: 1, a: 2 }, 2)).toBe('{\n  "a": 2,\n  "b": 1\n}');
  });
});
