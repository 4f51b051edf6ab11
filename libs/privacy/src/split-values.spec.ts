import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { Detector } from './detector.js';
import { DictionaryMatcher } from './dictionary.js';
import { MaskingSession, type ProcessingBudget } from './masking-session.js';
import { PrivacyProfileSchema } from './profile.js';
import { Pseudonymizer } from './pseudonymizer.js';

const detector = new Detector({ directory: { people: [{ name: 'Marta Klein' }] } });
const pseudonymizer = new Pseudonymizer('split-test-key-0123456789abcdef');
const session = (budget?: ProcessingBudget) =>
  new MaskingSession(detector, pseudonymizer, PrivacyProfileSchema.parse({ mode: 'mask' }), 'acme', budget);
const ONE = (label: string) => new RegExp(`^\\[\\[${label}_[0-9a-f]{8}\\]\\]$`);

describe('values split across the texts of a request', () => {
  it('masks each piece of an SSN cut over two parts with the placeholder of the whole value', () => {
    const s = session();
    const [a, b] = s.processAll(['My SSN is 512-44-', '7391']);
    const placeholder = a!.slice('My SSN is '.length);
    expect(placeholder).toMatch(ONE('SSN'));
    expect(b).toBe(placeholder);
    expect(s.restorer().restore(`Noted: ${placeholder}.`)).toBe('Noted: 512-44-7391.');
    expect(s.counts).toEqual({ ssn: 1 });
  });

  it('masks an address cut over three texts, with empty texts in between', () => {
    const s = session();
    const out = s.processAll(['write to marta.kl', '', 'ein@exam', 'ple.com please']);
    expect(out[0]).toMatch(/^write to \[\[EMAIL_[0-9a-f]{8}\]\]$/);
    const placeholder = out[0]!.slice('write to '.length);
    expect(out.slice(1)).toEqual(['', placeholder, `${placeholder} please`]);
    expect(s.restorer().restore(placeholder)).toBe('marta.klein@example.com');
  });

  it('masks a name cut between two messages, and the disguised piece whole', () => {
    const s = session();
    const [a, b] = s.processAll(['Please call Marta', '\u00a0Kle\u200bin tomorrow']);
    expect(a).toMatch(/^Please call \[\[PERSON_[0-9a-f]{8}\]\]$/);
    expect(b).toBe(`${a!.slice('Please call '.length)} tomorrow`);
    expect(s.restorer().restore(a!.slice('Please call '.length))).toBe('Marta\u00a0Kle\u200bin');
  });

  it('masks each piece as its own value where a piece is a whole value itself, so restoring stays exact', () => {
    // Glued, "contact" + "jane@acme.com" reads as contactjane@acme.com: a real split cannot be told
    // from this, so both pieces are masked, each restoring to exactly what it replaced.
    const s = session();
    const texts = ['Please contact', 'jane@acme.com today'];
    const out = s.processAll(texts);
    expect(out[1]).toMatch(/^\[\[EMAIL_[0-9a-f]{8}\]\] today$/);
    expect(out.map((m) => s.restorer().restore(m))).toEqual(texts);
    const split = session().processAll(['Mail marta.kl', 'ein@example.com']);
    expect(split.join('|')).not.toContain('marta');
  });

  it('masks an SSN cut into one text per character', () => {
    const s = session();
    const out = s.processAll(['SSN', ' ', ...'512-44-7391'.split(''), ' ok']);
    const pieces = out.slice(2, -1);
    expect(new Set(pieces).size).toBe(1);
    expect(pieces[0]).toMatch(ONE('SSN'));
    expect(out.join('')).not.toMatch(/\d(?![0-9a-f]*\]\])/);
  });

  it('masks a value split across two content parts with enum fields between them, as a request walker hands them over', () => {
    const s = session();
    const out = s.processAll(['user', 'text', 'My SSN is 512-44-', 'text', '7391 ok']);
    expect(out.slice(0, 2)).toEqual(['user', 'text']);
    expect(out[2]).toMatch(/^My SSN is \[\[SSN_[0-9a-f]{8}\]\]$/);
    expect(out[3]).toBe('text');
    expect(out[4]).toBe(`${out[2]!.slice('My SSN is '.length)} ok`);
  });

  it("reports the external recogniser's spans of the normalised text as whole original spans", async () => {
    const ner = async (text: string) => {
      const at = text.indexOf('Marisol Okonkwo');
      return at < 0 ? [] : [{ type: 'PER', start: at, end: at + 'Marisol Okonkwo'.length, score: 0.9 }];
    };
    const withNer = new MaskingSession(
      new Detector({ ner }),
      pseudonymizer,
      PrivacyProfileSchema.parse({ mode: 'mask' }),
      'acme',
    );
    const [out] = await withNer.processAllAsync(['call Mari\u200bsol\u00a0Okonkwo today']);
    expect(out).toMatch(/^call \[\[PERSON_[0-9a-f]{8}\]\] today$/);
    expect(withNer.restorer().restore(out!)).toBe('call Mari\u200bsol\u00a0Okonkwo today');
  });

  it('joins a percent escape cut by the seam', () => {
    const s = session();
    const out = s.processAll(['to=marta%4', '0example.com']);
    expect(out.join('|')).not.toMatch(/marta|example/);
  });

  it('finds a value whose cue is in the previous text', () => {
    const s = session();
    const [, b] = s.processAll(['Date of birth:', ' 1985-03-12']);
    expect(b).toMatch(/^ \[\[DOB_[0-9a-f]{8}\]\]$/);
  });

  it('does not join texts whose neighbours are not a value: nothing is masked across an ordinary seam', () => {
    const s = session();
    const texts = ['Quarterly close is on the 5th', 'business day; send 12 reports.'];
    expect(s.processAll(texts)).toEqual(texts);
    expect(s.total).toBe(0);
  });

  it('also masks a value found whole in one text where another text repeats it', () => {
    const s = session();
    const out = s.processAll(['SSN 512 44 7391 is hers', 'and 512 44 7391 again']);
    expect(out[1]).not.toContain('7391');
  });
});

describe('processing budget', () => {
  it('refuses a request with more text than the budget before scanning it', () => {
    const s = session({ maxChars: 100 });
    expect(() => s.processAll(['x'.repeat(60), 'y'.repeat(41)])).toThrow(
      expect.objectContaining({ code: 'payload_too_large' }) as unknown as AppError,
    );
    expect(s.work).toBe(0);
    expect(session({ maxChars: 101 }).processAll(['x'.repeat(60), 'y'.repeat(41)])).toHaveLength(2);
  });

  it('refuses a request with more values than the budget', () => {
    const text = Array.from({ length: 11 }, (_, i) => `u${i}@example.com`).join(' ');
    expect(() => session({ maxValues: 10 }).process(text)).toThrow(
      expect.objectContaining({ code: 'payload_too_large' }) as unknown as AppError,
    );
    expect(session({ maxValues: 11 }).process(text)).not.toContain('@');
  });
});

/** A distinct capitalised surname per index: Kaaa, Kaab, … */
const surname = (i: number) =>
  `K${[i % 26, Math.floor(i / 26) % 26, Math.floor(i / 676) % 26].map((d) => String.fromCharCode(97 + d)).join('')}`;

/**
 * A dense request: `n` lines, each with a value; every name is repeated without its cue, so the
 * known-values pass must find it again, and all names share their first token (a matcher that
 * compared each "Marta" with every known name would do quadratic work).
 */
function dense(n: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const area = String(100 + (i % 500));
    const group = String(10 + (i % 89));
    const serial = String(1000 + ((i * 7) % 8999));
    lines.push(
      i % 3 === 0
        ? `SSN ${area} ${group} ${serial} on file; ${area} ${group} ${serial} again.`
        : i % 3 === 1
          ? `Dear Marta ${surname(i)}, thanks. Marta ${surname(i)} agreed; mail u${i}@corp.example.`
          : `Call (212) 555-${String(i % 10000).padStart(4, '0')} now.`,
    );
  }
  // Several texts, as a conversation sends them.
  const texts: string[] = [];
  for (let i = 0; i < lines.length; i += 50) texts.push(lines.slice(i, i + 50).join(' '));
  return texts;
}

describe('work grows linearly with the request', () => {
  it('counts four times the work for four times the values, not sixteen', () => {
    const small = session();
    small.processAll(dense(2000));
    const large = session();
    large.processAll(dense(8000));
    expect(large.total).toBeGreaterThan(3.9 * small.total);
    // Characters scanned plus token comparisons: quadratic growth would give ~16×.
    expect(large.work / small.work).toBeLessThan(4.5);
    expect(large.work / small.work).toBeGreaterThan(3.5);
  });

  it('reads each character of many small texts a bounded number of times', () => {
    const texts = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        i % 7 === 0 ? `mail u${i}@corp.example` : i % 2 ? 'user' : 'a b c',
      );
    const small = session();
    small.processAll(texts(2000));
    const large = session();
    large.processAll(texts(8000));
    expect(large.work / small.work).toBeLessThan(4.5);
  });

  it('compares a text token with a bounded number of terms, however many terms share its first token', () => {
    const few = new DictionaryMatcher(
      Array.from({ length: 10 }, (_, i) => ({ text: `512 44 ${1000 + i}`, type: 'ssn', score: 0.5 })),
    );
    const many = new DictionaryMatcher(
      Array.from({ length: 10_000 }, (_, i) => ({ text: `512 44 ${1000 + i}`, type: 'ssn', score: 0.5 })),
    );
    const text = 'x 512 44 1005 y 512 44 9999 z '.repeat(100);
    expect(few.match(text)).toHaveLength(100);
    expect(many.match(text)).toHaveLength(200);
    expect(many.comparisons).toBeLessThanOrEqual(few.comparisons + 200);
  });
});
