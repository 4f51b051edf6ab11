import { z } from 'zod';
import { defineEvent } from '../define.js';
import { AgentId, RegistryTimestamp } from './registry.schema.js';

export const AgentOffline = defineEvent({
  subject: 'registry.v1.agent-offline',
  description: 'An online agent sent no heartbeat within the presence timeout.',
  schema: z.object({ agentId: AgentId, lastSeenAt: RegistryTimestamp, occurredAt: RegistryTimestamp }),
});
