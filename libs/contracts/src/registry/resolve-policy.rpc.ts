import { z } from 'zod';
import { defineRpc } from '../define.js';
import { AgentOrRole, PolicyDecision, PolicyKind, RegistryVersion } from './registry.schema.js';

export const ResolvePolicy = defineRpc({
  subject: 'rpc.registry.v1.resolve-policy',
  description:
    'May `from` send `to` a task, an approval request or a notification? `from`/`to` are agent ids or roles. ' +
    'Default deny; the decision names the rule. Cache per `version`.',
  request: z.object({ from: AgentOrRole, to: AgentOrRole, kind: PolicyKind }),
  response: PolicyDecision.extend({ version: RegistryVersion }),
});
