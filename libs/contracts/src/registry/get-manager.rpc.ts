import { z } from 'zod';
import { defineRpc } from '../define.js';
import { OrgUser } from './registry.schema.js';

export const GetManager = defineRpc({
  subject: 'rpc.registry.v1.get-manager',
  description: "A user's manager from the org chart (null at the top). Unknown user → user_not_found.",
  request: z.object({ userId: z.string().min(1).max(100) }),
  response: z.object({ user: OrgUser, manager: OrgUser.nullable() }),
});
