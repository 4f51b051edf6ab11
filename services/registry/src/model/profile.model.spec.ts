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
