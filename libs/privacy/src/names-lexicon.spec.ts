import { describe, expect, it } from '@jest/globals';
import { FlagTable, namesLexicon, recentSlot, WordFlag } from './names-lexicon.js';

describe('FlagTable', () => {
  // Two hash pairs that share a slot of the recent-words cache (the low bits of h2 decide it for h1 = 0).
  const a: [number, number] = [0, 5];
  const b: [number, number] = [0, 5 + 4096];

  it('answers each word by its own flags when words share a slot of the recent-words cache', () => {
    expect(recentSlot(...a)).toBe(recentSlot(...b));
    const table = new FlagTable(16);
    table.add(...a, WordFlag.FIRST_NAME);
    table.add(...b, WordFlag.ENGLISH | WordFlag.CUE);
    for (let i = 0; i < 3; i++) {
      expect(table.get(...a)).toBe(WordFlag.FIRST_NAME);
      expect(table.get(...a)).toBe(WordFlag.FIRST_NAME);
      expect(table.get(...b)).toBe(WordFlag.ENGLISH | WordFlag.CUE);
    }
  });

  it('keeps an unknown word as unknown, without hiding a known word of the same slot', () => {
    const table = new FlagTable(16);
    table.add(...a, WordFlag.LAST_NAME);
    expect(table.get(...b)).toBe(0);
    expect(table.get(...b)).toBe(0);
    expect(table.get(...a)).toBe(WordFlag.LAST_NAME);
    expect(table.get(...b)).toBe(0);
  });

  it('answers a word added after it was looked up with its new flags', () => {
    const table = new FlagTable(16);
    expect(table.get(...a)).toBe(0);
    table.add(...a, WordFlag.TITLE);
    expect(table.get(...a)).toBe(WordFlag.TITLE);
    table.add(...a, WordFlag.PARTICLE);
    expect(table.get(...a)).toBe(WordFlag.TITLE | WordFlag.PARTICLE);
  });

  it('gives the lexicon the same answer on every lookup of a word, first or repeated', () => {
    const lexicon = namesLexicon();
    const words = ['maria', 'the', 'schmidt', 'london', 'dear', 'and', 'xqzvbk', 'regards', 'invoice', 'van'];
    const first = words.map((w) => lexicon.flagsOf(w));
    for (let round = 0; round < 3; round++) expect(words.map((w) => lexicon.flagsOf(w))).toEqual(first);
    expect(first[0]! & WordFlag.FIRST_NAME).toBe(WordFlag.FIRST_NAME);
    expect(first[6]).toBe(0);
    expect(first[4]! & WordFlag.CUE).toBe(WordFlag.CUE);
  });
});
