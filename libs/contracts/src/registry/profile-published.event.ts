import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineEvent } from '../define.js';
import { ProfileId, RegistryVersion, RoleId } from './registry.schema.js';

export const ProfilePublished = defineEvent({
  subject: 'registry.v1.profile-published',
  description:
    'A new or changed profile was published with a registry version. `jws` is the signed profile; consumers verify ' +
    'it (verifyProfile from @orgmesh/auth) and invalidate caches (policy, privacy settings).',
  schema: z.object({
    profileId: ProfileId,
    role: RoleId,
    version: RegistryVersion,
    jws: z.string(),
    kid: z.string(),
    occurredAt: Timestamp,
  }),
});
