import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineEvent } from '../define.js';
import { RegistryAgent, RegistryVersion } from './registry.schema.js';

export const AgentRegistered = defineEvent({
  subject: 'registry.v1.agent-registered',
  description: 'A registry version added an agent.',
  schema: z.object({ agent: RegistryAgent, version: RegistryVersion, occurredAt: Timestamp }),
});
