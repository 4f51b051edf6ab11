import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Detector } from './detector.js';
import { MaskingSession } from './masking-session.js';
import { normalizeForDetection } from './normalize.js';
import { PrivacyProfileSchema } from './profile.js';
import { Pseudonymizer } from './pseudonymizer.js';

const detector = new Detector({ directory: { people: [{ name: 'Marta Klein' }] } });
const pseudonymizer = new Pseudonymizer('disguise-test-key-0123456789');
const session = () =>
  new MaskingSession(detector, pseudonymizer, PrivacyProfileSchema.parse({ mode: 'mask' }), 'acme');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const PLACEHOLDER = /\[\[[A-Z]+_[0-9a-f]{8,16}\]\]/g;

/**
 * Masks `before + value + after` and asserts that exactly `value` — all of it, invisible characters
 * and escapes included — became one placeholder of `label`, and that restoring gives the input back.
 */
function expectMaskedWhole(before: string, value: string, after: string, label: string): void {
  const s = session();
  const input = before + value + after;
  const masked = s.process(input);
  expect(masked).toMatch(new RegExp(`^${escape(before)}\\[\\[${label}_[0-9a-f]{8}\\]\\]${escape(after)}$`));
  expect(s.restorer().restore(masked)).toBe(input);
}

describe('disguised values are masked whole and restored exactly', () => {
  it('a zero-width space inside an address (no "marta.kl" left beside the placeholder)', () => {
    expectMaskedWhole('Write to ', 'marta.kl\u200bein@example.com', ' today.', 'EMAIL');
  });

  it('a zero-width joiner and non-joiner inside an address', () => {
    expectMaskedWhole('Write to ', 'mar\u200dta.kl\u200cein@example.com', '.', 'EMAIL');
  });

  it('a BOM and bidi controls inside a phone number', () => {
    expectMaskedWhole('Phone: ', '+44 20 \ufeff7946\u202e 0958', ' (office)', 'PHONE');
  });

  it('NBSP between the groups of an SSN', () => {
    expectMaskedWhole('SSN ', '512\u00a044\u00a07391', ' on file', 'SSN');
  });

  it('a soft hyphen inside an IBAN', () => {
    expectMaskedWhole('Pay to ', 'DE89 3704 0044 05\u00ad32 0130 00', ' today', 'IBAN');
  });

  it('full-width digits in an SSN', () => {
    expectMaskedWhole('SSN: ', '５１２-４４-７３９１', '.', 'SSN');
  });

  it('Arabic-Indic digits in an SSN', () => {
    expectMaskedWhole('SSN: ', '٥١٢-٤٤-٧٣٩١', '.', 'SSN');
  });

  it('a full-width at sign', () => {
    expectMaskedWhole('mail ', 'marta.klein＠example.com', ' now', 'EMAIL');
  });

  it('Cyrillic look-alike letters in an address', () => {
    // а (U+0430), е (U+0435), о (U+043E)
    expectMaskedWhole('mail ', 'mаrtа.klеin@exаmple.cоm', ' now', 'EMAIL');
  });

  it('a Greek look-alike letter in a directory name', () => {
    // Α (U+0391) for A
    expectMaskedWhole('Ask ', 'Mαrta Klein', ' about it', 'PERSON');
  });

  it('an SSN written with dots after its cue: 512.44.7391', () => {
    expectMaskedWhole('SSN: ', '512.44.7391', ' (verified)', 'SSN');
  });

  it('an SSN written with spaces after its cue: 512 44 7391', () => {
    expectMaskedWhole('her social security number is ', '512 44 7391', '.', 'SSN');
  });

  it('dashes between the groups of an IBAN', () => {
    expectMaskedWhole('IBAN ', 'DE89-3704-0044-0532-0130-00', ' please', 'IBAN');
  });

  it('a lowercase IBAN (not "de89 3704 [[PHONE_…]] 00")', () => {
    expectMaskedWhole('pay ', 'de89 3704 0044 0532 0130 00', ' now', 'IBAN');
  });

  it('a percent-encoded at sign', () => {
    expectMaskedWhole('?to=', 'marta.klein%40example.com', '&x=1', 'EMAIL');
  });

  it('an entity-encoded at sign: &#64;', () => {
    expectMaskedWhole('<p>', 'marta.klein&#64;example.com', '</p>', 'EMAIL');
  });

  it('an entity-encoded at sign: &commat; and &#x40;', () => {
    expectMaskedWhole('<p>', 'marta&commat;example.com', '</p>', 'EMAIL');
    expectMaskedWhole('<p>', 'marta&#x40;example.com', '</p>', 'EMAIL');
  });

  it('NBSP and a soft hyphen inside a directory name', () => {
    expectMaskedWhole('Please call ', 'Marta\u00a0Kle\u00adin', ' tomorrow', 'PERSON');
  });

  it('a bare nine-digit SSN without a cue', () => {
    expectMaskedWhole('Please update ', '512447391', ' in the payroll system.', 'SSN');
  });
});

describe('bare nine-digit numbers', () => {
  const ssns = (text: string) => detector.detect(text).filter((e) => e.type === 'ssn').length;

  it('are SSNs only with a valid area, group and serial', () => {
    expect(ssns('file 512447391 today')).toBe(1);
    for (const invalid of ['000447391', '666447391', '912447391', '512007391', '512440000'])
      expect({ invalid, found: ssns(`file ${invalid} today`) }).toEqual({ invalid, found: 0 });
  });

  it('are not SSNs when they are the voided advertising numbers, a run or one repeated digit', () => {
    for (const n of ['078051120', '219099999', '123456789', '987654321', '555555555'])
      expect({ n, found: ssns(`file ${n} today`) }).toEqual({ n, found: 0 });
  });

  it('are not SSNs after a reference word, or as part of a longer number, amount or identifier', () => {
    for (const text of [
      'Order 512447391 shipped',
      'invoice no. 512447391',
      'tracking number: 512447391',
      'ref #512447391',
      'ID-512447391',
      'price 512447391.50 EUR',
      '5124473912 units',
      'A512447391',
      '512447391-2',
      '$512447391',
      // A lone value: a JSON number or an id field of a tool call.
      '512447391',
      '  512447391 ',
    ])
      expect({ text, found: ssns(text) }).toEqual({ text, found: 0 });
  });
});

// --- Property: random values, disguised and split, never reach the output --------------------------

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
  let r = 0;
  for (const ch of `${bban}131400`) r = (r * 10 + Number(ch)) % 97;
  return `DE${String(98 - r).padStart(2, '0')}${bban}`;
}
const FULL_WIDTH = (s: string) => s.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));
const LOOK_ALIKE: Record<string, string> = {
  a: '\u0430',
  e: '\u0435',
  o: '\u043e',
  c: '\u0441',
  p: '\u0440',
};
const INVISIBLE = ['\u200b', '\u200c', '\u200d', '\u00ad', '\ufeff', '\u2060'];

/** Inserts an invisible character after position `at` (inside the value). */
const invisibleAt = (value: string, at: number, k: number) => {
  const p = 1 + (at % (value.length - 1));
  return value.slice(0, p) + INVISIBLE[k % INVISIBLE.length] + value.slice(p);
};

interface Seeded {
  /** What the text holds (disguised). */
  readonly written: string;
  /** What must not reach the output: digits, or an address's local part. */
  readonly secret: string;
  /** The words before the value (a cue where the form needs one). */
  readonly cue: string;
}

const email = fc
  .tuple(
    fc.stringMatching(/^[a-z]{3,8}\.[a-z]{3,8}$/),
    fc.stringMatching(/^[a-z]{3,8}$/),
    fc.constantFrom('plain', 'cyrillic', 'fullwidth', 'percent', 'entity', 'named', 'upper'),
  )
  .map(([local, domain, how]): Seeded => {
    const lookAlike = local.replace(/[aeocp]/, (ch) => LOOK_ALIKE[ch]!);
    const at = { fullwidth: '＠', percent: '%40', entity: '&#64;', named: '&commat;' }[how as string] ?? '@';
    const written = `${how === 'cyrillic' ? lookAlike : how === 'upper' ? local.toUpperCase() : local}${at}${domain}.com`;
    return { written, secret: local, cue: 'write to' };
  });
const ssn = fc
  .tuple(
    fc.integer({ min: 1, max: 665 }),
    fc.integer({ min: 1, max: 99 }),
    fc.integer({ min: 1, max: 9999 }),
    fc.constantFrom('-', '.', ' ', '\u00a0', '', 'bare', 'fullwidth'),
  )
  .filter(([a]) => a !== 78 && a !== 219 && a !== 123)
  .map(([a, g, s, how]): Seeded => {
    const parts = [String(a).padStart(3, '0'), String(g).padStart(2, '0'), String(s).padStart(4, '0')];
    const sep = how === 'bare' || how === 'fullwidth' ? '-' : how;
    const plain = parts.join(how === 'bare' ? '' : sep);
    const written = how === 'fullwidth' ? FULL_WIDTH(plain) : plain;
    return { written, secret: parts.join(''), cue: how === 'bare' ? 'please update' : 'SSN:' };
  })
  .filter((v) => !/^(\d)\1{8}$/.test(v.secret));
const iban = fc.tuple(digits(18), fc.constantFrom(' ', '-', '', 'lower')).map(([d, how]): Seeded => {
  const compact = ibanDE(d);
  const grouped = compact.match(/.{1,4}/g)!.join(how === 'lower' ? ' ' : how);
  return {
    written: how === 'lower' ? grouped.toLowerCase() : grouped,
    secret: compact.slice(4),
    cue: 'IBAN',
  };
});
const card = fc.tuple(digits(14), fc.constantFrom(' ', '-', '')).map(([d, sep]): Seeded => {
  const n = luhnComplete(`4${d}`);
  return { written: sep ? n.match(/.{4}/g)!.join(sep) : n, secret: n, cue: 'card' };
});
const phone = fc
  .tuple(fc.integer({ min: 2, max: 9 }), digits(2), fc.integer({ min: 2, max: 9 }), digits(6), fc.boolean())
  .map(([a, b, c, d, nbsp]): Seeded => {
    const sep = nbsp ? '\u00a0' : ' ';
    return {
      written: `+1${sep}${a}${b}${sep}${c}${d.slice(0, 2)}${sep}${d.slice(2)}`,
      secret: `${a}${b}${c}${d}`,
      cue: 'phone',
    };
  });
const value = fc.oneof(email, ssn, iban, card, phone);
const filler = fc.constantFrom(
  'please',
  'review',
  'the',
  'invoice',
  'and',
  'send',
  'it',
  'to',
  'finance',
  'thanks',
);
/** One value in a request: disguised or not, whole in one text or split over two (at any position). */
const placed = fc.tuple(
  fc.array(filler, { maxLength: 3 }),
  value,
  fc.option(fc.tuple(fc.nat(), fc.nat()), { nil: undefined }),
  fc.option(fc.nat(), { nil: undefined }),
  // What a request walker puts between two content parts: nothing, or enum fields (role, type).
  fc.constantFrom([], ['text'], ['user', 'text']),
);

describe('property: disguised and split values', () => {
  it('never leave a digit of a value or an address local part in the masked texts', () => {
    fc.assert(
      fc.property(fc.array(placed, { minLength: 1, maxLength: 5 }), (items) => {
        const texts: string[] = [];
        let split = false;
        for (const [words, v, invisible, cut, between] of items) {
          const written = invisible ? invisibleAt(v.written, invisible[0], invisible[1]) : v.written;
          const head = `${words.join(' ')} ${v.cue} `;
          if (cut === undefined) texts.push(`${head}${written} .`);
          else {
            const at = 1 + (cut % (written.length - 1));
            texts.push(head + written.slice(0, at), ...between, `${written.slice(at)} .`);
            split = true;
          }
        }
        const s = session();
        const masked = s.processAll(texts);
        // Filler holds no digit: any digit outside a placeholder is a leaked piece of a value.
        const joined = normalizeForDetection(masked.join('\n').replace(PLACEHOLDER, ' ')).text;
        expect(joined).not.toMatch(/\d/);
        for (const [, v] of items)
          if (!/^\d+$/.test(v.secret)) expect(joined.toLowerCase()).not.toContain(v.secret);
        if (!split) masked.forEach((m, i) => expect(s.restorer().restore(m)).toBe(texts[i]));
      }),
      { numRuns: 400 },
    );
  });
});
