import { describe, expect, it } from '@jest/globals';
import { collectStrings, replaceStrings } from './remote-privacy.js';

describe('the strings of a task input', () => {
  const input = { text: 'Ask maria@example.org', amount: 5, to: ['a', { note: 'b' }], ok: true, none: null };

  it('are collected depth first and put back in the same order, everything else kept', () => {
    const texts: string[] = [];
    collectStrings(input, texts);
    expect(texts).toEqual(['Ask maria@example.org', 'a', 'b']);
    const masked = replaceStrings(input, ['Ask [[EMAIL_1]]', 'A', 'B'][Symbol.iterator]());
    expect(masked).toEqual({
      text: 'Ask [[EMAIL_1]]',
      amount: 5,
      to: ['A', { note: 'B' }],
      ok: true,
      none: null,
    });
    expect(replaceStrings('x', ['y'][Symbol.iterator]())).toBe('y');
  });

  it('never fall back to an original value when fewer texts come back', () => {
    expect(() => replaceStrings(input, ['only one'][Symbol.iterator]())).toThrow(/fewer texts/);
  });
});
