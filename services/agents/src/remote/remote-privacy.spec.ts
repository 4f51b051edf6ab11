import { describe, expect, it } from '@jest/globals';
import { collectTexts, replaceTexts, type Unmaskable } from './remote-privacy.js';

describe('the texts of a task input', () => {
  const input = { text: 'Ask maria@example.org', amount: 5, to: ['a', { note: 'b' }], ok: true, none: null };

  it('are collected depth first, each key before its value, numbers as their decimal text when asked', () => {
    const texts: string[] = [];
    collectTexts(input, texts, { numbers: true });
    expect(texts).toEqual([
      'text',
      'Ask maria@example.org',
      'amount',
      '5',
      'to',
      'a',
      'note',
      'b',
      'ok',
      'none',
    ]);
    const strings: string[] = [];
    collectTexts(input, strings, { numbers: false });
    expect(strings).toEqual([
      'text',
      'Ask maria@example.org',
      'amount',
      'to',
      'a',
      'note',
      'b',
      'ok',
      'none',
    ]);
  });

  it('are put back in the same order: keys renamed, numbers kept, booleans and null passed', () => {
    const back = ['text', 'Ask [[EMAIL_1a2b3c4d]]', 'amount', '5', 'to', 'A', 'note', 'B', 'ok', 'none'];
    const numbers: Unmaskable[] = [];
    expect(replaceTexts(input, back[Symbol.iterator](), { numbers })).toEqual({
      text: 'Ask [[EMAIL_1a2b3c4d]]',
      amount: 5,
      to: ['A', { note: 'B' }],
      ok: true,
      none: null,
    });
    expect(numbers).toEqual([]);
    expect(
      replaceTexts({ 'maria@example.org': 'x' }, ['[[EMAIL_1a2b3c4d]]', 'y'][Symbol.iterator]()),
    ).toEqual({
      '[[EMAIL_1a2b3c4d]]': 'y',
    });
    expect(replaceTexts('x', ['y'][Symbol.iterator]())).toBe('y');
  });

  it('record a number whose text came back changed, by its path (keys masked) and type, never its value', () => {
    const value = { 'maria@example.org': { ids: [7, 512447391] } };
    const texts: string[] = [];
    collectTexts(value, texts, { numbers: true });
    expect(texts).toEqual(['maria@example.org', 'ids', '7', '512447391']);
    const numbers: Unmaskable[] = [];
    const back = ['[[EMAIL_1a2b3c4d]]', 'ids', '7', '[[SSN_0f9e8d7c]]'];
    replaceTexts(value, back[Symbol.iterator](), { numbers });
    expect(numbers).toEqual([{ path: '$["[[EMAIL_1a2b3c4d]]"].ids[1]', type: 'ssn' }]);
  });

  it('never fall back to an original value when fewer texts come back', () => {
    expect(() => replaceTexts(input, ['only one'][Symbol.iterator]())).toThrow(/fewer texts/);
  });
});
