import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineEvent } from '../define.js';
import { AgentId } from './registry.schema.js';

export const AgentOffline = defineEvent({
  subject: 'registry.v1.agent-offline',
  description: 'An online agent sent no heartbeat within the presence timeout.',
  schema: z.object({ agentId: AgentId, lastSeenAt: Timestamp, occurredAt: Timestamp }),
});
