import { z } from 'zod';
import { defineRpc } from '../define.js';
import { AgentId, ConfigFormat, ConfigHash, RegistryVersion, RenderedFile } from './registry.schema.js';

export const RenderConfig = defineRpc({
  subject: 'rpc.registry.v1.render-config',
  description:
    "The ready-to-run files of an agent's client (Claude Code or Goose), byte-for-byte deterministic, and their hash " +
    '(what a correctly configured agent reports in its heartbeat).',
  request: z.object({ agentId: AgentId, format: ConfigFormat }),
  response: z.object({
    agentId: AgentId,
    format: ConfigFormat,
    files: z.array(RenderedFile),
    configHash: ConfigHash,
    version: RegistryVersion,
  }),
});
