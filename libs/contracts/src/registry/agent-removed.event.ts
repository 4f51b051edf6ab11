import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineEvent } from '../define.js';
import { AgentId, RegistryVersion, RoleId } from './registry.schema.js';

export const AgentRemoved = defineEvent({
  subject: 'registry.v1.agent-removed',
  description: 'A registry version no longer declares an agent.',
  schema: z.object({
    agentId: AgentId,
    role: RoleId,
    version: RegistryVersion,
    occurredAt: Timestamp,
  }),
});
