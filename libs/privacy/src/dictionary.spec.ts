import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DictionaryMatcher, type DictionaryTerm } from './dictionary.js';

// Units that decide where the walk's tokens start and end: candidate and other letters in both cases,
// digits, the joiners (' ’ - _), blanks, punctuation, Latin letters with accents and their capitals,
// İ (lowercases to two units: folded to itself), the Kelvin sign (JavaScript lowercases it to an
// ASCII k; lowerCode, and so both paths, leave it as it is), Cyrillic, a combining mark, CJK and a
// surrogate pair.
const UNITS = [
  'a',
  'e',
  'h',
  'j',
  'k',
  's',
  'x',
  'A',
  'E',
  'H',
  'J',
  'K',
  'S',
  '1',
  '0',
  '9',
  ' ',
  ' ',
  '\t',
  '-',
  "'",
  '\u2019',
  '_',
  '.',
  ',',
  '\n',
  '@',
  'é',
  'É',
  '\u0130',
  '\u212a',
  'ß',
  'д',
  'Д',
  '\u0301',
  '中',
  '\ud83d',
  '\ude00',
];
const unit = fc.constantFrom(...UNITS);
const word = fc
  .array(fc.constantFrom('a', 'e', 'h', 'j', 'k', 's', 'E', 'J', 'é', 'д', '1', '0'), {
    minLength: 1,
    maxLength: 4,
  })
  .map((u) => u.join(''));
const term = fc
  .tuple(fc.array(word, { minLength: 1, maxLength: 3 }), fc.constantFrom(' ', '-', ' - ', "'"))
  .map(([words, sep]): DictionaryTerm => ({ text: words.join(sep), type: 'person', score: 0.9 }));

/** Sorted, disjoint spans inside a text of `length` units, from random cut points. */
function spansOf(cuts: number[], length: number): Array<{ start: number; end: number }> {
  const points = [...new Set(cuts.map((c) => c % (length + 1)))].sort((a, b) => a - b);
  const spans: Array<{ start: number; end: number }> = [];
  for (let k = 0; k + 1 < points.length; k += 2)
    if (points[k]! < points[k + 1]!) spans.push({ start: points[k]!, end: points[k + 1]! });
  return spans;
}

describe('DictionaryMatcher: the prefiltered match finds what the walk finds', () => {
  it('on random texts, terms and covered spans', () => {
    fc.assert(
      fc.property(
        fc.array(unit, { maxLength: 160 }).map((u) => u.join('')),
        fc.array(term, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        (body, terms, cuts, picks) => {
          // Some terms taken from the text itself, so that matches happen (also mid-token, after joiners).
          const taken = picks.map((p): DictionaryTerm => {
            const start = body.length === 0 ? 0 : p % body.length;
            return { text: body.slice(start, start + 1 + (p % 7)), type: 'email', score: 0.5 };
          });
          const matcher = new DictionaryMatcher([...terms, ...taken]);
          const covered = spansOf(cuts, body.length);
          expect(matcher.match(body, covered)).toEqual(matcher.matchWalking(body, covered));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('at the places the walk decides by itself: possessives, joiners, a covered span inside a token', () => {
    const matcher = new DictionaryMatcher([
      { text: 'Jane Doe', type: 'person', score: 0.9 },
      { text: 'se', type: 'person', score: 0.9 },
      { text: 'Brien', type: 'person', score: 0.9 },
      { text: 'ein', type: 'person', score: 0.9 },
    ]);
    const cases: Array<[string, Array<{ start: number; end: number }>]> = [
      ["Jane Doe's file and O'Brien, se-se", []],
      ["Jane Doe's se", []],
      ['marta.kl|ein@example.com ein', [{ start: 3, end: 9 }]],
      ['see se-ein jane doe', [{ start: 1, end: 2 }]],
      ['x ein', [{ start: 0, end: 1 }]],
    ];
    for (const [text, covered] of cases) {
      const found = matcher.match(text, covered);
      expect(found).toEqual(matcher.matchWalking(text, covered));
    }
    expect(matcher.match("Jane Doe's file, O'Brien").map((m) => [m.start, m.end])).toEqual([[0, 8]]);
  });

  it('finds every term of a list whose first units cover the whole alphabet, as the walk does', () => {
    const words = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('').map((c) => `${c}x${c}`);
    const matcher = new DictionaryMatcher(
      words.map((text) => ({ text, type: 'person' as const, score: 0.9 })),
    );
    const text = words.join(' ; ');
    expect(matcher.match(text)).toHaveLength(words.length);
    expect(matcher.match(text)).toEqual(matcher.matchWalking(text));
  });
});
