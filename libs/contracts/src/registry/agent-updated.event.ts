import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineEvent } from '../define.js';
import { RegistryAgent, RegistryVersion } from './registry.schema.js';

export const AgentUpdated = defineEvent({
  subject: 'registry.v1.agent-updated',
  description:
    "A registry version changed an agent's declaration or its effective profile (its rendered config may differ).",
  schema: z.object({
    agent: RegistryAgent,
    /** Top-level agent fields that changed; `profile` when only its effective profile changed. */
    changed: z.array(z.string()),
    version: RegistryVersion,
    occurredAt: Timestamp,
  }),
});
