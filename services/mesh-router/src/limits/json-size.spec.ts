import { describe, expect, it } from '@jest/globals';
import { jsonSize } from './json-size.js';

describe('jsonSize', () => {
  it('counts UTF-8 bytes of the JSON form, strings as they are', () => {
    expect(jsonSize(undefined)).toBe(0);
    expect(jsonSize('héllo')).toBe(6);
    expect(jsonSize({ a: 1 })).toBe(7);
  });
});
