import { describe, expect, it } from '@jest/globals';
import { ProfileFileSchema } from './profile.model.js';

const file = (privacy: Record<string, unknown>) => ({
  id: 'legal',
  role: 'legal',
  providers: [{ name: 'anthropic' }],
  privacy: { mode: 'strict', ...privacy },
});

describe('profile file: privacy proxy channel rules', () => {
  it('maps binary and unknown_fields onto the contract, and leaves them out when not written', () => {
    const written = ProfileFileSchema.parse(file({ binary: 'allow', unknown_fields: 'refuse' }));
    expect(written.privacy).toMatchObject({ binary: 'allow', unknownFields: 'refuse' });
    const plain = ProfileFileSchema.parse(file({}));
    // Unwritten: the proxy's defaults apply, and the profile's content (and signature) is unchanged.
    expect('binary' in plain.privacy).toBe(false);
    expect('unknownFields' in plain.privacy).toBe(false);
  });

  it('refuses values outside the rules', () => {
    expect(ProfileFileSchema.safeParse(file({ binary: 'maybe' })).success).toBe(false);
    expect(ProfileFileSchema.safeParse(file({ unknown_fields: 'forward' })).success).toBe(false);
  });
});

describe('profile file: names and pseudonym scope (issue 19)', () => {
  it('maps names and pseudonym_scope onto the contract, and leaves them out when not written', () => {
    const written = ProfileFileSchema.parse(file({ names: false, pseudonym_scope: 'org' }));
    expect(written.privacy).toMatchObject({ names: false, pseudonymScope: 'org' });
    const plain = ProfileFileSchema.parse(file({}));
    expect('names' in plain.privacy).toBe(false);
    expect('pseudonymScope' in plain.privacy).toBe(false);
  });

  it('refuses a scope that does not exist', () => {
    expect(ProfileFileSchema.safeParse(file({ pseudonym_scope: 'tenant' })).success).toBe(false);
    expect(ProfileFileSchema.safeParse(file({ names: 'yes' })).success).toBe(false);
  });
});
