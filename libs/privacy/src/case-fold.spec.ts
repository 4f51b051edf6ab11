import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from '@jest/globals';
import { foldInlineCase } from './case-fold.js';
import { ALTERNATIVES } from './patterns.js';

describe('foldInlineCase', () => {
  it('turns the letters of (?i:…) groups into classes and leaves the rest alone', () => {
    expect(foldInlineCase('(?i:ax|by)c')).toBe('(?:[aA][xX]|[bB][yY])c');
    expect(foldInlineCase('(?i:\\bdob(?:[ ]on)?)\\s\\p{Lu}')).toBe(
      '(?:\\b[dD][oO][bB](?:[ ][oO][nN])?)\\s\\p{Lu}',
    );
    expect(foldInlineCase('(?<dob>(?i:is)[\\s:]+)(?<dobdate>\\d)\\k<dob>')).toBe(
      '(?<dob>(?:[iI][sS])[\\s:]+)(?<dobdate>\\d)\\k<dob>',
    );
    // Groups nested in a (?i:…) group inherit it; groups after it do not.
    expect(foldInlineCase('(?i:a(?=b))(c)')).toBe('(?:[aA](?=[bB]))(c)');
    expect(foldInlineCase('(?<![\\p{L}])Mr')).toBe('(?<![\\p{L}])Mr');
  });

  it('refuses what it cannot fold faithfully', () => {
    expect(() => foldInlineCase('(?i:[a-z])')).toThrow(/character class with letters/);
    expect(() => foldInlineCase('(?-i:a)')).toThrow(/unsupported group syntax/);
    expect(() => foldInlineCase('(?m:a)')).toThrow(/unsupported group syntax/);
  });

  it('keeps the built-in patterns equivalent', () => {
    for (const { source } of ALTERNATIVES) {
      const folded = foldInlineCase(source);
      expect(folded).not.toContain('(?i:');
      expect(() => new RegExp(folded, 'uy')).not.toThrow();
    }
  });

  /**
   * The engine behaviour this guards against: V8 turns its regexp optimisation off by itself in a
   * process that generated much regexp code, and without it an alternation inside (?i:…) loses the
   * modifier. Compiled that way, the folded patterns must match exactly what the optimised raw patterns
   * match, at every position of every corpus line (sources get a unique no-op prefix so nothing
   * compiled earlier is reused).
   */
  it('matches like the optimised pattern when V8 compiles without its regexp optimisation', async () => {
    const lines = ['pii.jsonl', 'clean.jsonl'].flatMap((file) =>
      readFileSync(new URL(`../corpus/${file}`, import.meta.url), 'utf8')
        .split('\n')
        .filter((l) => l.trim().length > 0)
        .map((l) => (JSON.parse(l) as { text: string }).text),
    );
    const positions = (re: RegExp) => {
      const found: string[] = [];
      for (const text of lines)
        for (let at = 0; at < text.length; at++) {
          re.lastIndex = at;
          const m = re.exec(text);
          if (m) found.push(`${at}:${m[0]}`);
        }
      return found;
    };
    // The reference is computed in a fresh isolate (a worker thread): this Jest worker may itself
    // have generated enough regexp code for V8 to have switched the optimisation off already.
    const expected = await optimisedPositions(
      ALTERNATIVES.map((a) => a.source),
      lines,
    );
    let folded: string[][];
    let raw: string[][];
    setFlagsFromString('--no-regexp-optimization');
    try {
      folded = ALTERNATIVES.map((a) => positions(new RegExp(`(?:)(?:)${foldInlineCase(a.source)}`, 'uy')));
      raw = ALTERNATIVES.map((a) => positions(new RegExp(`(?:)(?:)(?:)${a.source}`, 'uy')));
    } finally {
      setFlagsFromString('--regexp-optimization');
    }
    ALTERNATIVES.forEach((a, k) => {
      expect({ pattern: a.name, matches: folded[k] }).toEqual({ pattern: a.name, matches: expected[k] });
    });
    // The check can fail: on this engine the raw patterns do lose matches when compiled that way.
    expect(raw.some((matches, k) => matches.length !== expected[k]!.length)).toBe(true);
  });
});

/** Every match position of each pattern over the lines, compiled in a new isolate (optimisation on). */
function optimisedPositions(sources: string[], lines: string[]): Promise<string[][]> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    parentPort.postMessage(workerData.sources.map((source) => {
      const re = new RegExp('(?:)' + source, 'uy');
      const found = [];
      for (const text of workerData.lines)
        for (let at = 0; at < text.length; at++) {
          re.lastIndex = at;
          const m = re.exec(text);
          if (m) found.push(at + ':' + m[0]);
        }
      return found;
    }));`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { sources, lines } });
    worker.once('message', (result: string[][]) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}
