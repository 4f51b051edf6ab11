import { z } from 'zod';
import { defineRpc } from '../define.js';
import { OrgUser, UserId } from './registry.schema.js';

export const GetManager = defineRpc({
  subject: 'rpc.registry.v1.get-manager',
  description: "A user's manager from the org chart (null at the top). Unknown user → user_not_found.",
  request: z.object({ userId: UserId }),
  response: z.object({ user: OrgUser, manager: OrgUser.nullable() }),
});
