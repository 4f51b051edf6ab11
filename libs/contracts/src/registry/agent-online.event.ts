import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineEvent } from '../define.js';
import { AgentId } from './registry.schema.js';

export const AgentOnline = defineEvent({
  subject: 'registry.v1.agent-online',
  description: 'The first heartbeat of an agent that was offline (or never seen).',
  schema: z.object({ agentId: AgentId, occurredAt: Timestamp }),
});
