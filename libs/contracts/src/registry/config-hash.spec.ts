import { describe, expect, it } from '@jest/globals';
import { configHash } from './config-hash.js';

const sample = [
  { path: '.goosehints', content: 'be careful\n' },
  { path: '.config/goose/config.yaml', content: 'GOOSE_MODEL: gpt-4o-mini\n' },
];

describe('configHash', () => {
  it('is sha256 over the files sorted by path, each as path NUL content NUL (the value heartbeats carry)', () => {
    // Pinned: sha256 of ".config/goose/config.yaml\0GOOSE_MODEL: gpt-4o-mini\n\0.goosehints\0be careful\n\0".
    // Agents and runners already deployed report hashes of this framing; changing it makes every one of them drift.
    expect(configHash(sample)).toBe(
      'sha256:fdbc2e8fa2c41c7ee129050d270214bf89aba38046377cce5ca62ca860b53519',
    );
  });

  it('does not depend on the order the files come in, and does not change the input', () => {
    const reversed = [...sample].reverse();
    expect(configHash(reversed)).toBe(configHash(sample));
    expect(reversed[0]?.path).toBe('.config/goose/config.yaml');
  });

  it('changes when a character moves between a path and its content, or a content changes', () => {
    const files = [
      { path: 'a', content: 'bc' },
      { path: 'd', content: 'e' },
    ];
    expect(configHash([{ path: 'ab', content: 'c' }, files[1]!])).not.toBe(configHash(files));
    expect(configHash([{ path: 'a', content: 'bc ' }, files[1]!])).not.toBe(configHash(files));
    expect(configHash([])).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
