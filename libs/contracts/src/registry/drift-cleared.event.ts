import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineEvent } from '../define.js';
import { AgentId, ConfigHash } from './registry.schema.js';

export const DriftCleared = defineEvent({
  subject: 'registry.v1.drift-cleared',
  description:
    'A drifted agent reports a config matching its rendered one again (redeployed, or the registry caught up).',
  schema: z.object({ agentId: AgentId, configHash: ConfigHash, occurredAt: Timestamp }),
});
