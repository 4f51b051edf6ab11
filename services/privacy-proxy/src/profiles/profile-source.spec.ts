import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { FileProfileSource } from './profile-source.js';

const YAML = `
profiles:
  finance:
    mode: mask
    entities: { ssn: strict }
    customPatterns:
      - { name: case-ref, pattern: "CASE-[0-9]{6}" }
    denyList: [Project Nightjar]
  default: { mode: detect }
directory:
  - { name: Jane Doe, email: jane.doe@acme.example, userId: u-1001 }
`;

describe('FileProfileSource', () => {
  it('reads YAML profiles, falls back to the default profile, and serves the directory', async () => {
    const source = FileProfileSource.fromText(YAML, 'profiles.yaml');
    expect(await source.getProfile('finance')).toMatchObject({
      mode: 'mask',
      entities: { ssn: 'strict' },
      customPatterns: [{ name: 'case-ref' }],
    });
    expect(await source.getProfile('anyone')).toEqual({ mode: 'detect' });
    expect((await source.getDirectory()).people).toEqual([
      { name: 'Jane Doe', email: 'jane.doe@acme.example', userId: 'u-1001' },
    ]);
    expect(await source.getProfile('finance')).toBe(await source.getProfile('finance'));
  });

  it("knows roles only: a caller gets its role's profile whatever its subject", async () => {
    const source = FileProfileSource.fromText(YAML, 'profiles.yaml');
    const finance = await source.getProfile('finance');
    expect(await source.profileFor({ role: 'finance', sub: 'finance-auditor-agent' })).toBe(finance);
    expect(await source.profileFor({ role: 'finance' })).toBe(finance);
    expect(await source.profileFor({ role: 'legal', sub: 'legal-agent' })).toEqual({ mode: 'detect' });
  });

  it('refuses an invalid file with the path inside it', () => {
    let caught: unknown;
    try {
      FileProfileSource.fromText('profiles:\n  finance: { mode: hide }\n', 'profiles.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).message).toContain('profiles.finance.mode');
  });

  it('has no default: roles without a profile get none', async () => {
    const source = FileProfileSource.fromText('{"profiles": {"legal": {"mode": "strict"}}}', 'p.json');
    expect(await source.getProfile('finance')).toBeUndefined();
  });
});
