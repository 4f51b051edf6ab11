import { z } from 'zod';
import { defineEvent } from '../define.js';
import { AgentId, RegistryTimestamp } from './registry.schema.js';

export const AgentOnline = defineEvent({
  subject: 'registry.v1.agent-online',
  description: 'The first heartbeat of an agent that was offline (or never seen).',
  schema: z.object({ agentId: AgentId, occurredAt: RegistryTimestamp }),
});
