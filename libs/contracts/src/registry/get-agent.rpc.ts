import { z } from 'zod';
import { defineRpc } from '../define.js';
import {
  AgentId,
  AgentPresence,
  ConfigFormat,
  ConfigHash,
  ProfileId,
  RegistryAgent,
  RegistryVersion,
} from './registry.schema.js';

export const GetAgent = defineRpc({
  subject: 'rpc.registry.v1.get-agent',
  description: 'One agent with its effective profile, presence and drift. Unknown → agent_not_found.',
  request: z.object({ agentId: AgentId }),
  response: z.object({
    agent: RegistryAgent,
    profileId: ProfileId,
    presence: AgentPresence,
    /** The hash a correctly configured agent reports, per client format. */
    expectedConfigHashes: z.partialRecord(ConfigFormat, ConfigHash),
    version: RegistryVersion,
  }),
});
