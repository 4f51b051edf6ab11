import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineRpc } from '../define.js';
import { AgentId, ConfigFormat, ConfigHash } from './registry.schema.js';

export const AgentHeartbeat = defineRpc({
  subject: 'rpc.registry.v1.heartbeat',
  description:
    'An agent reports it is alive and which config it runs. Marks it online; a hash that differs from the rendered ' +
    'config raises registry.v1.drift-detected. The agent id is taken from the verified token, not trusted from the payload.',
  request: z.object({
    agentId: AgentId,
    configHash: ConfigHash,
    /** The client the config was rendered for; omitted means any rendered format may match. */
    format: ConfigFormat.optional(),
  }),
  response: z.object({
    online: z.literal(true),
    drift: z.boolean(),
    /** How long the agent may stay silent before it is considered offline. */
    timeoutMs: z.number().int().positive(),
    receivedAt: Timestamp,
  }),
});
