import { describe, expect, it } from '@jest/globals';
import { canonicalJson, turnOf } from './inbox-deliveries.js';

const id = '0b6c1f3e-7a5d-4c8e-9f1a-2b3c4d5e6f70';

describe('turnOf', () => {
  it("names a task's turn by the version its delivery carried, an approval's or notification's by its id", () => {
    expect(turnOf({ id, kind: 'task', version: 1 })).toBe(`${id}@1`);
    expect(turnOf({ id, kind: 'task', version: 4 })).not.toBe(turnOf({ id, kind: 'task', version: 1 }));
    expect(turnOf({ id, kind: 'approval', version: 3 })).toBe(id);
    expect(turnOf({ id, kind: 'notification', version: 2 })).toBe(id);
  });
});

describe('canonicalJson', () => {
  it('ignores the order of object keys at any depth (jsonb reorders them), not the order of array items', () => {
    const sent = { text: 'Q3', a2a: { message: { role: 'ROLE_USER', messageId: 'm' }, earlier: [1, 2] } };
    const stored = { a2a: { earlier: [1, 2], message: { messageId: 'm', role: 'ROLE_USER' } }, text: 'Q3' };
    expect(canonicalJson(sent)).toBe(canonicalJson(stored));
    expect(canonicalJson({ ...sent, text: 'Q4' })).not.toBe(canonicalJson(stored));
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
    expect(canonicalJson(null)).toBe('null');
  });
});
