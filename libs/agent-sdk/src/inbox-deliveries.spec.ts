import { describe, expect, it } from '@jest/globals';
import { turnOf } from './inbox-deliveries.js';

const id = '0b6c1f3e-7a5d-4c8e-9f1a-2b3c4d5e6f70';

describe('turnOf', () => {
  it("names a task's turn by the version its delivery carried, an approval's or notification's by its id", () => {
    expect(turnOf({ id, kind: 'task', version: 1 })).toBe(`${id}@1`);
    expect(turnOf({ id, kind: 'task', version: 4 })).not.toBe(turnOf({ id, kind: 'task', version: 1 }));
    expect(turnOf({ id, kind: 'approval', version: 3 })).toBe(id);
    expect(turnOf({ id, kind: 'notification', version: 2 })).toBe(id);
  });
});
