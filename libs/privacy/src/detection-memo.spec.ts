import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { DetectionMemo } from './detection-memo.js';
import { Detector } from './detector.js';
import { MaskingSession } from './masking-session.js';
import { PrivacyProfileSchema } from './profile.js';
import { Pseudonymizer } from './pseudonymizer.js';

const profile = PrivacyProfileSchema.parse({ mode: 'mask', employeeIdPattern: 'EMP-\\d{5}' });
const people = [{ name: 'Jane Doe', email: 'jane.doe@acme.example', userId: 'u-1001' }];
const detector = Detector.forProfile(profile, { people });
const pseudonymizer = new Pseudonymizer('detection-memo-test-key-0123456789');

const corpus = ['pii.jsonl', 'clean.jsonl'].flatMap((file) =>
  readFileSync(new URL(`../corpus/${file}`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { text: string }).text),
);

/** Corpus lines joined into texts of at least `min` characters (a message of a conversation). */
function messages(count: number, min: number, offset = 0): string[] {
  const out: string[] = [];
  let line = offset;
  for (let m = 0; m < count; m++) {
    let text = '';
    while (text.length < min) text += `${corpus[line++ % corpus.length]} `;
    out.push(text);
  }
  return out;
}

describe('DetectionMemo', () => {
  it("answers what the detector answers, and a text's second time from memory", () => {
    const memo = new DetectionMemo();
    const [text] = messages(1, 2000);
    const first = memo.detect(detector, text!);
    expect(first).toEqual(detector.detect(text!, { normalize: false }));
    expect(first.length).toBeGreaterThan(3);
    expect(memo.stats).toEqual({ hits: 0, misses: 1 });
    expect(memo.detect(detector, text!)).toBe(first);
    expect(memo.stats).toEqual({ hits: 1, misses: 1 });
  });

  it('detects short texts every time, and nothing when off', () => {
    const short = new DetectionMemo({ minChars: 256 });
    short.detect(detector, 'Mail jane.doe@acme.example today.');
    short.detect(detector, 'Mail jane.doe@acme.example today.');
    expect(short.stats).toEqual({ hits: 0, misses: 0 });
    const off = new DetectionMemo({ maxEntries: 0 });
    const [text] = messages(1, 500);
    off.detect(detector, text!);
    off.detect(detector, text!);
    expect(off.stats).toEqual({ hits: 0, misses: 0 });
  });

  it('keeps the most recently used texts up to its bound, and each detector its own', () => {
    const memo = new DetectionMemo({ maxEntries: 2 });
    const [a, b, c] = messages(3, 400);
    memo.detect(detector, a!);
    memo.detect(detector, b!);
    memo.detect(detector, a!); // a is now the most recent: b goes first
    memo.detect(detector, c!);
    expect(memo.stats).toEqual({ hits: 1, misses: 3 });
    memo.detect(detector, a!);
    memo.detect(detector, c!);
    expect(memo.stats).toEqual({ hits: 3, misses: 3 });
    memo.detect(detector, b!);
    expect(memo.stats).toEqual({ hits: 3, misses: 4 });
    // Another profile's detector (another directory, another deny list) never reads these.
    const other = Detector.forProfile({ ...profile, denyList: ['Project Falcon'] }, { people });
    memo.detect(other, c!);
    expect(memo.stats).toEqual({ hits: 3, misses: 5 });
  });

  it('leaves a conversation masked exactly as without it, turn after turn', () => {
    const memo = new DetectionMemo();
    const history: string[] = [];
    for (let turn = 0; turn < 12; turn++) {
      // Each turn sends the conversation again plus one new message, some of them short.
      history.push(...messages(1, turn % 3 === 0 ? 80 : 600, turn * 7));
      const remembered = new MaskingSession(detector, pseudonymizer, profile, 'acme', {}, memo);
      const plain = new MaskingSession(detector, pseudonymizer, profile, 'acme');
      expect(remembered.processAll(history)).toEqual(plain.processAll(history));
      expect(remembered.counts).toEqual(plain.counts);
      expect([...remembered.mapping.entries()]).toEqual([...plain.mapping.entries()]);
    }
    // Every long message was detected once (8), and read from memory on every later turn (40).
    expect(memo.stats.misses).toBe(8);
    expect(memo.stats.hits).toBe(40);
    // Twelve sessions read the remembered findings: none changed them.
    for (const text of history) {
      const prepared = detector.prepare(text).text;
      if (prepared.length >= 256)
        expect(memo.detect(detector, prepared)).toEqual(detector.detect(prepared, { normalize: false }));
    }
  });
});
