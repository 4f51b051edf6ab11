import { describe, expect, it } from '@jest/globals';
import { parseYaml } from './yaml-source.js';

describe('parseYaml', () => {
  it.each([
    ['a NUL escape', 'display_name: "Fin\\0ance"\n', 'display_name', /NUL/],
    ['a hex NUL escape', 'tools: [read, "x\\x00"]\n', 'tools[1]', /NUL/],
    ['a lone surrogate escape', 'a:\n  b: "\\ud800"\n', 'a.b', /lone surrogate/],
    ['a key with NUL', '"k\\0": 1\n', '(root)', /key must not contain NUL/],
  ])('refuses %s, naming the path', (_name, content, path, reason) => {
    const result = parseYaml('agents/x.yaml', content);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([{ file: 'agents/x.yaml', path, reason: expect.stringMatching(reason) }]);
  });

  it('refuses a document nested past 64 levels', () => {
    const result = parseYaml('roles.yaml', `roles: ${'['.repeat(70)}${']'.repeat(70)}\n`);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]?.reason).toMatch(/nested deeper than 64/);
  });

  it('keeps other Unicode and escapes', () => {
    const result = parseYaml('agents/x.yaml', 'display_name: "Émilie \\u00e9 💼\\ttab"\n');
    expect(result.ok && result.source.data).toEqual({ display_name: 'Émilie é 💼\ttab' });
  });
});
