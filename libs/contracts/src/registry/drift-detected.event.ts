import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineEvent } from '../define.js';
import { AgentId, ConfigHash } from './registry.schema.js';

export const DriftDetected = defineEvent({
  subject: 'registry.v1.drift-detected',
  description:
    "An agent runs a config whose hash differs from every config rendered for the agent's current declaration.",
  schema: z.object({
    agentId: AgentId,
    reportedConfigHash: ConfigHash,
    expectedConfigHashes: z.array(ConfigHash),
    occurredAt: Timestamp,
  }),
});
