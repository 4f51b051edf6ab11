import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineRpc } from '../define.js';
import { ProfileId, UserId } from './registry.schema.js';

export const AssignProfile = defineRpc({
  subject: 'rpc.registry.v1.assign-profile',
  description:
    "Admin only: gives a user a profile of the user's own role. Unknown user → user_not_found, unknown profile → " +
    'profile_not_found, a profile of another role → validation_failed.',
  request: z.object({ userId: UserId, profileId: ProfileId }),
  response: z.object({
    userId: z.string(),
    profileId: ProfileId,
    assignedBy: z.string(),
    assignedAt: Timestamp,
  }),
});
