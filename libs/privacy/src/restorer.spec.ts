import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { PlaceholderMapping, Pseudonymizer } from './pseudonymizer.js';
import { jsonStringContent, Restorer } from './restorer.js';

const pseudonymizer = new Pseudonymizer('test-key-0123456789abcdef');
const mapping = new PlaceholderMapping();
const EMAIL = pseudonymizer.placeholder('acme', 'email', 'jane.doe@example.com', mapping);
const PHONE = pseudonymizer.placeholder('acme', 'phone', '+44 20 7946 0958', mapping);
const PERSON = pseudonymizer.placeholder('acme', 'person', 'Zoë "Z" O\'Hara', mapping);
const restorer = new Restorer(mapping);

/** The core of a placeholder without brackets: `EMAIL_3f9a1c2b`. */
const core = (placeholder: string) => placeholder.slice(2, -2);

function streamed(r: Restorer, chunks: string[]): string {
  const s = r.stream();
  return chunks.map((c) => s.push(c)).join('') + s.end();
}

describe('Restorer', () => {
  it('restores exact placeholders and leaves the rest untouched', () => {
    expect(restorer.restore(`Write to ${EMAIL} or call ${PHONE}.`)).toBe(
      'Write to jane.doe@example.com or call +44 20 7946 0958.',
    );
  });

  it('tolerates case changes, dropped brackets and an escaped underscore', () => {
    const c = core(EMAIL);
    for (const variant of [
      c,
      c.toLowerCase(),
      `[${c}]`,
      `[[${c.toUpperCase()}]]`,
      `[${c}]]`,
      c.replace('_', '\\_'),
      `**${c}**`,
    ]) {
      expect(restorer.restore(`to: ${variant}, thanks`)).toBe(
        `to: ${variant.replace(/\[*\**[A-Za-z]+\\?_[0-9a-fA-F]+\**\]*/, (m) => m.replace(/\[*(\**)[A-Za-z]+\\?_[0-9a-fA-F]+(\**)\]*/, '$1jane.doe@example.com$2'))}, thanks`,
      );
    }
  });

  it('does not touch look-alikes: unknown digits, longer hex runs, labels glued to words', () => {
    const c = core(EMAIL);
    const unknown = `[[EMAIL_${'0'.repeat(8)}]]`;
    expect(restorer.restore(unknown)).toBe(unknown);
    expect(restorer.restore(`${c}0`)).toBe(`${c}0`);
    expect(restorer.restore(`X${c}`)).toBe(`X${c}`);
    expect(restorer.restore(`${c}_x`)).toBe(`${c}_x`);
    expect(restorer.restore('EMAILS_ are fine [[ and ]]')).toBe('EMAILS_ are fine [[ and ]]');
  });

  it('never scans a restored value again', () => {
    const m = new PlaceholderMapping();
    const inner = pseudonymizer.placeholder('acme', 'email', 'a@b.co', m);
    // A value that itself looks like a placeholder of the same mapping.
    const outer = pseudonymizer.placeholder('acme', 'deny_list', inner, m);
    expect(new Restorer(m).restore(outer)).toBe(inner);
  });

  it('encodes restored values for JSON string context', () => {
    const json = new Restorer(mapping, { encode: jsonStringContent });
    const args = `{"to":"${PERSON}"}`;
    expect(JSON.parse(json.restore(args))).toEqual({ to: 'Zoë "Z" O\'Hara' });
  });

  it('drops an unfinished placeholder at the end of the text, keeps ordinary tails', () => {
    const c = core(EMAIL);
    expect(restorer.restore(`Sent to ${EMAIL.slice(0, 12)}`)).toBe('Sent to ');
    expect(restorer.restore(`Sent to [[EM`)).toBe('Sent to ');
    expect(restorer.restore(`Sent to ${c.slice(0, 6)}`)).toBe('Sent to ');
    expect(restorer.restore('Plan E')).toBe('Plan E');
    expect(restorer.restore('EMAIL')).toBe('EMAIL');
    expect(restorer.restore('see [[')).toBe('see [[');
  });

  it('holds back only a tail that can still become a placeholder', () => {
    const s = restorer.stream();
    expect(s.push('Hello [[EM')).toBe('Hello ');
    expect(s.heldBack).toBe(4);
    expect(s.push('AIL_zz')).toBe('[[EMAIL_zz');
    expect(s.heldBack).toBe(0);
    expect(s.push('Plain text without letters of labels: 123 ')).toBe(
      'Plain text without letters of labels: 123 ',
    );
    expect(s.push('Email')).toBe('');
    expect(s.push(' me')).toBe('Email me');
    expect(s.end()).toBe('');
  });

  it('restores a placeholder split into single characters', () => {
    expect(streamed(restorer, [...`a ${EMAIL} b`])).toBe('a jane.doe@example.com b');
  });

  it('is a no-op with an empty mapping', () => {
    const empty = new Restorer(new PlaceholderMapping());
    expect(empty.active).toBe(false);
    expect(empty.restore('[[EMAIL_00000000]]')).toBe('[[EMAIL_00000000]]');
    expect(streamed(empty, ['[[EM', 'AIL'])).toBe('[[EMAIL');
  });
});

describe('Restorer properties', () => {
  const placeholders = [EMAIL, PHONE, PERSON];
  const variant = fc
    .tuple(
      fc.constantFrom(...placeholders),
      fc.constantFrom('exact', 'lower', 'bare', 'single', 'escaped', 'truncated', 'unknown'),
    )
    .map(([p, how]) => {
      const c = core(p);
      switch (how) {
        case 'lower':
          return p.toLowerCase();
        case 'bare':
          return c;
        case 'single':
          return `[${c}]`;
        case 'escaped':
          return `[[${c.replace('_', '\\_')}]]`;
        case 'truncated':
          return p.slice(0, 5 + (c.length % 7));
        case 'unknown':
          return `[[${c.slice(0, -1)}f]]`.replace(/ff\]\]$/, 'fe]]');
        default:
          return p;
      }
    });
  const noise = fc.string({
    unit: fc.constantFrom(...'abcEMAILPHONERS_[]\\ 0123456789fé\n"'.split('')),
    maxLength: 12,
  });
  const answer = fc.array(fc.oneof(variant, noise), { maxLength: 12 }).map((parts) => parts.join(''));
  const cuts = (text: string) =>
    fc
      .uniqueArray(fc.integer({ min: 1, max: Math.max(1, text.length - 1) }), { maxLength: 20 })
      .map((points) => {
        const sorted = points.filter((p) => p < text.length).sort((a, b) => a - b);
        const chunks: string[] = [];
        let last = 0;
        for (const p of sorted) {
          chunks.push(text.slice(last, p));
          last = p;
        }
        chunks.push(text.slice(last));
        return chunks;
      });

  it('streamed restore equals whole-text restore for every way of splitting the answer', () => {
    fc.assert(
      fc.property(
        answer.chain((text) => fc.tuple(fc.constant(text), cuts(text))),
        ([text, chunks]) => {
          expect(chunks.join('')).toBe(text);
          expect(streamed(restorer, chunks)).toBe(restorer.restore(text));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('also in JSON string context (tool-call argument deltas)', () => {
    const json = new Restorer(mapping, { encode: jsonStringContent });
    fc.assert(
      fc.property(
        answer.chain((text) => fc.tuple(fc.constant(text), cuts(text))),
        ([text, chunks]) => {
          expect(streamed(json, chunks)).toBe(json.restore(text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('leaves nothing restorable behind and never holds back more than one placeholder', () => {
    fc.assert(
      fc.property(answer, (text) => {
        const s = restorer.stream();
        let out = '';
        for (const ch of text) {
          out += s.push(ch);
          expect(s.heldBack).toBeLessThanOrEqual(2 + 'PERSON'.length + 2 + 16 + 2);
        }
        out += s.end();
        // Nothing restorable is left behind.
        // (a space appended: the end-of-text rule for fragments is not what is checked here)
        expect(restorer.restore(`${out} `)).toBe(`${out} `);
      }),
      { numRuns: 300 },
    );
  });
});
