import { describe, expect, it } from '@jest/globals';
import { fitToMessages, splitCsv } from './org-importer.js';

describe('splitCsv', () => {
  const csv = 'user_id,name\nu-1,Ann\nu-2,Bo\nu-3,Cy\n';

  it('cuts after line ends, within the limit, and joins back to the same text', () => {
    const parts = splitCsv(csv, 14);
    expect(parts.join('')).toBe(csv);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(14);
      expect(part.endsWith('\n')).toBe(true);
    }
    expect(parts.length).toBeGreaterThan(1);
  });

  it('keeps a CSV that fits as one part, and a last line without newline', () => {
    expect(splitCsv(csv, 1000)).toEqual([csv]);
    expect(splitCsv('a\nbb', 3)).toEqual(['a\n', 'bb']);
  });

  it('cuts a line longer than the limit inside the line rather than loop', () => {
    const parts = splitCsv('x'.repeat(10), 4);
    expect(parts).toEqual(['xxxx', 'xxxx', 'xx']);
  });
});

describe('fitToMessages', () => {
  it('halves parts whose encoding is past a message, so multi-byte text still travels', () => {
    const line = `${'日本語の名前'.repeat(10_000)}\n`; // 60,001 characters, ~180 KB as UTF-8
    const parts = fitToMessages(splitCsv(line.repeat(8), 256 * 1024));
    expect(parts.join('')).toBe(line.repeat(8));
    for (const part of parts) expect(Buffer.byteLength(JSON.stringify(part))).toBeLessThanOrEqual(768 * 1024);
  });

  it('keeps ASCII parts as they are', () => {
    const parts = splitCsv('a,b\n'.repeat(100_000), 256 * 1024);
    expect(fitToMessages(parts)).toEqual(parts);
  });
});
