import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { normalizeForDetection } from './normalize.js';

/** The original text a normalised span stands for. */
function original(input: string, start: number, end: number): string {
  const span = normalizeForDetection(input).toOriginal(start, end);
  return input.slice(span.start, span.end);
}

describe('normalizeForDetection', () => {
  it('leaves plain ASCII alone, offsets included', () => {
    const n = normalizeForDetection('Quarterly close: 12.5% up, R&D flat.');
    expect(n.text).toBe('Quarterly close: 12.5% up, R&D flat.');
    expect(n.sameOffsets).toBe(true);
    expect(n.toOriginal(3, 9)).toEqual({ start: 3, end: 9 });
  });

  it('removes zero-width, bidi and format characters and maps a span over them to the whole original', () => {
    const input = 'mail \ufeffmarta.kl\u200bein\u200d@exa\u00admple.com\u202e now';
    const n = normalizeForDetection(input);
    expect(n.text).toBe('mail marta.klein@example.com now');
    const start = n.text.indexOf('marta');
    const end = start + 'marta.klein@example.com'.length;
    expect(original(input, start, end)).toBe('marta.kl\u200bein\u200d@exa\u00admple.com');
  });

  it('applies NFKC: full-width digits and at sign, NBSP and other spaces, ligatures', () => {
    const n = normalizeForDetection('ＳＳＮ ５１２\u00a044\u20077391\u1680ｍａｒｔａ＠example.com ﬁle');
    expect(n.text).toBe('SSN 512 44 7391 marta@example.com file');
  });

  it('maps a span inside an expanded character to the whole character', () => {
    const input = 'x ﬃ y';
    const n = normalizeForDetection(input);
    expect(n.text).toBe('x ffi y');
    expect(original(input, 3, 4)).toBe('ﬃ');
    expect(original(input, 0, 3)).toBe('x ﬃ');
  });

  it('decodes percent escapes of the characters values are written with, and whole UTF-8 sequences', () => {
    const input = 'marta.klein%40example.com a%123@b.io %E2%80%8Bx %C3%A9 50%25';
    const n = normalizeForDetection(input);
    expect(n.text).toBe('marta.klein@example.com a%123@b.io x é 50%25');
    const at = n.text.indexOf('@');
    expect(original(input, at, at + 1)).toBe('%40');
  });

  it('decodes an escape with invisible characters inside it', () => {
    const input = 'a&#\u200b64;b.io c%4\u00ad0d.io';
    const n = normalizeForDetection(input);
    expect(n.text).toBe('a@b.io c@d.io');
    expect(original(input, 1, 2)).toBe('&#\u200b64;');
  });

  it('decodes numeric and named character references, two levels deep', () => {
    const input = 'a&#64;b.io c&#x40;d.io e&commat;f.io &amp; g&amp;#64;h.io &amp;amp;#64; &nbsp;x &bogus;';
    const n = normalizeForDetection(input);
    expect(n.text).toBe('a@b.io c@d.io e@f.io & g@h.io &#64;  x &bogus;');
    const at = n.text.indexOf('g@') + 1;
    expect(original(input, at, at + 1)).toBe('&amp;#64;');
  });

  it('decodes a doubly percent-encoded at sign, and leaves a lone %25 alone', () => {
    const n = normalizeForDetection('marta%2540example.com 50%25 off %25zz');
    expect(n.text).toBe('marta@example.com 50%25 off %25zz');
  });

  it('folds Cyrillic and Greek look-alikes only in runs that also hold Latin letters', () => {
    // "mаrtа" with Cyrillic а, "ехample" with Cyrillic е and х; "Ольга Петрова" is Cyrillic text.
    const n = normalizeForDetection('mаrtа@ехample.com Ольга Петрова Ηello');
    expect(n.text).toBe('marta@example.com Ольга Петрова Hello');
    expect(n.sameOffsets).toBe(true);
  });

  it('folds the decimal digits of every script to ASCII digits', () => {
    // Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, Thai.
    expect(normalizeForDetection('٥١٢-٤٤-٧٣٩١ ۵۱۲ ५१२ ৫১২ ๕๑๒').text).toBe('512-44-7391 512 512 512 512');
  });

  it('folds dash look-alikes to a hyphen', () => {
    expect(normalizeForDetection('512\u201344\u22127391').text).toBe('512-44-7391');
  });

  it('maps every normalised span back to an original span that contains it (property)', () => {
    const piece = fc.constantFrom(
      'a',
      'Z',
      '7',
      ' ',
      '@',
      '\u200b',
      '\u00ad',
      '\u00a0',
      '＠',
      '５',
      'ﬁ',
      '%40',
      '%4',
      '&#64;',
      '&amp;',
      'é',
      'e\u0301',
      'а',
      '😀',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.nat(), fc.nat(), (pieces, x, y) => {
        const input = pieces.join('');
        const n = normalizeForDetection(input);
        if (n.text.length === 0) return;
        const start = x % n.text.length;
        const end = start + 1 + (y % (n.text.length - start));
        const span = n.toOriginal(start, end);
        expect(span.start).toBeGreaterThanOrEqual(0);
        expect(span.end).toBeLessThanOrEqual(input.length);
        expect(span.start).toBeLessThan(span.end);
        // Character by character, original spans follow each other: disjoint, or the same expanded one.
        for (let p = 0; p + 1 < n.text.length; p++) {
          const a = n.toOriginal(p, p + 1);
          const b = n.toOriginal(p + 1, p + 2);
          expect(b.start >= a.end || (b.start === a.start && b.end === a.end)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });
});
