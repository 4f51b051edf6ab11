import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Detector } from './detector.js';
import { MaskingSession } from './masking-session.js';
import { PrivacyProfileSchema } from './profile.js';
import { Pseudonymizer } from './pseudonymizer.js';

const detector = new Detector({ directory: { people: [{ name: 'Jane Doe' }] } });
const pseudonymizer = new Pseudonymizer('another-test-key-0123456789');
const profile = (input: unknown) => PrivacyProfileSchema.parse(input);
const session = (p = profile({ mode: 'mask' }), tenant = 'acme') =>
  new MaskingSession(detector, pseudonymizer, p, tenant);

// Generators of seeded PII values in several real-world formats.
const digits = (n: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((d) => d.join(''));
function luhnComplete(body: string): string {
  for (let c = 0; c < 10; c++) {
    const t = body + c;
    let sum = 0;
    for (let i = 0; i < t.length; i++) {
      let d = Number(t[t.length - 1 - i]);
      if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    if (sum % 10 === 0) return t;
  }
  throw new Error('unreachable');
}
function ibanDE(bban: string): string {
  const numeric = `${bban}131400`;
  let r = 0;
  for (const ch of numeric) r = (r * 10 + Number(ch)) % 97;
  return `DE${String(98 - r).padStart(2, '0')}${bban}`;
}
const email = fc
  .tuple(
    fc.stringMatching(/^[a-z][a-z0-9]{1,8}(\.[a-z]{1,6})?$/),
    fc.stringMatching(/^[a-z]{2,10}$/),
    fc.constantFrom('com', 'de', 'io', 'co.uk'),
  )
  .map(([l, d, t]) => `${l}@${d}.${t}`);
const ssn = fc
  .tuple(fc.integer({ min: 1, max: 665 }), fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 9999 }))
  .map(
    ([a, g, s]) =>
      `${String(a).padStart(3, '0')}-${String(g).padStart(2, '0')}-${String(s).padStart(4, '0')}`,
  );
const card = fc.tuple(digits(14), fc.constantFrom('', ' ', '-')).map(([d, sep]) => {
  const n = luhnComplete(`4${d}`);
  return sep ? n.match(/.{4}/g)!.join(sep) : n;
});
const iban = fc.tuple(digits(18), fc.boolean()).map(([d, spaced]) => {
  const v = ibanDE(d);
  return spaced ? v.match(/.{1,4}/g)!.join(' ') : v;
});
const phone = fc.oneof(
  fc
    .tuple(fc.integer({ min: 2, max: 9 }), digits(2), fc.integer({ min: 2, max: 9 }), digits(2), digits(4))
    .map(([a, b, c, d, e]) => `(${a}${b}) ${c}${d}-${e}`),
  fc.tuple(digits(4), digits(6)).map(([a, b]) => `+44 20 ${a} ${b.slice(0, 4)}`),
  fc.tuple(digits(8)).map(([a]) => `+49 30 ${a}`),
);
const ipv4 = fc
  .tuple(
    fc.integer({ min: 1, max: 223 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 1, max: 254 }),
  )
  .map((p) => p.join('.'));
const pii = fc.oneof(email, ssn, card, iban, phone, ipv4, fc.constant('Jane Doe'));
const filler = fc.constantFrom(
  'please',
  'review',
  'the',
  'invoice',
  'for',
  'Q3',
  'and',
  'send',
  'it',
  'to',
  'finance',
  'today',
  'thanks',
  'budget',
  'approved',
  '(draft)',
  '-',
  ':',
);
const separator = fc.constantFrom(' ', ', ', '\n', ' ; ', ' (', ') ');
const document = fc.array(fc.tuple(fc.array(filler, { maxLength: 4 }), separator, pii, separator), {
  minLength: 1,
  maxLength: 8,
});

describe('MaskingSession', () => {
  it('masks every seeded value, and restoring the masked text gives back the original', () => {
    fc.assert(
      fc.property(document, (parts) => {
        const values = parts.map((p) => p[2]);
        const text = parts.map(([words, a, value, b]) => `${words.join(' ')}${a}${value}${b}`).join('');
        const s = session();
        const masked = s.process(text);
        for (const value of values) expect(masked).not.toContain(value);
        // Restoring yields the first surface form of each value; values are unique per normalised form here.
        const normalised = new Set(values.map((v) => v.replace(/[^0-9a-z@.]/gi, '').toLowerCase()));
        if (normalised.size === values.length) expect(s.restorer().restore(masked)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('gives a value the same placeholder in every request of a tenant, and another one in another tenant', () => {
    const a = session().process('mail jane.doe@example.com');
    const b = session().process('write to jane.doe@example.com please');
    const other = session(undefined, 'globex').process('mail jane.doe@example.com');
    const placeholder = /\[\[EMAIL_[0-9a-f]{8}\]\]/;
    expect(a.match(placeholder)?.[0]).toBe(b.match(placeholder)?.[0]);
    expect(other.match(placeholder)?.[0]).not.toBe(a.match(placeholder)?.[0]);
    expect(session().process('MAIL JANE.DOE@EXAMPLE.COM').match(placeholder)?.[0]).toBe(
      a.match(placeholder)?.[0],
    );
  });

  it('applies per-entity actions: detect counts, strict records, off ignores', () => {
    const s = session(profile({ mode: 'mask', entities: { email: 'detect', ssn: 'strict', phone: 'off' } }));
    const out = s.process('a@b.io 123-45-6789 (212) 555-0147 4111111111111111');
    expect(out).toBe('a@b.io 123-45-6789 (212) 555-0147 ' + out.split(' ').pop());
    expect(out).not.toContain('4111111111111111');
    expect(s.counts).toEqual({ email: 1, ssn: 1, credit_card: 1 });
    expect(s.masked).toEqual({ credit_card: 1 });
    expect(s.strictTypes).toEqual(['ssn']);
  });

  it('mode off with an override only acts on the overridden type', () => {
    const s = session(profile({ mode: 'off', entities: { email: 'mask' } }));
    expect(s.process('a@b.io 123-45-6789')).toMatch(/^\[\[EMAIL_[0-9a-f]{8}\]\] 123-45-6789$/);
  });

  it('masks a value found in one text of the request wherever the request repeats it', () => {
    const s = session();
    const [first, second] = s.processAll([
      'Dear Mr. Hendricks, your DOB: 1970-01-02.',
      'Hendricks was born 1970-01-02 and hendricks agreed.',
    ]);
    const placeholder = first!.match(/\[\[PERSON_[0-9a-f]{8}\]\]/)![0];
    expect(second).not.toMatch(/hendricks|1970-01-02/i);
    expect(second!.split(placeholder)).toHaveLength(3);
    expect(s.counts).toEqual({ person: 3, date_of_birth: 2 });
  });

  it('masks a value again where the same text repeats it without its cue, in any case', () => {
    const s = session();
    const [out] = s.processAll(['Dear Mr. Hendricks, thanks. HENDRICKS will call; so will hendricks.']);
    expect(out).not.toMatch(/hendricks/i);
    expect(s.counts).toEqual({ person: 3 });
  });

  it('leaves a text alone where every occurrence of a known value is already detected', () => {
    const s = session();
    const [out] = s.processAll(['Dear Mr. Hendricks, the order of Hendricksen Ltd ships today.']);
    expect(out).toMatch(/Hendricksen Ltd/);
    expect(s.counts).toEqual({ person: 1 });
  });

  it('gives colliding values distinct, longer placeholders', () => {
    // Force a collision: a mapping that already holds the short key with another value.
    const s = session();
    const first = s.process('x@y.io');
    const key = first.slice(2, -2);
    expect(s.mapping.claim(key, 'EMAIL', 'different', 'different')).toBe(false);
    expect(s.mapping.get(key)).toBe('x@y.io');
  });
});
