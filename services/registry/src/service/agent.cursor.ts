import { z } from 'zod';
import { AgentId, defineCursor } from '@orgmesh/contracts';

/**
 * The list-agents cursor: the id of the last agent of the page (agents are listed by id). The one
 * place it is read: anything the registry did not issue is `invalid_cursor`.
 */
const AgentCursor = defineCursor(z.strictObject({ a: AgentId }));

export function encodeAgentCursor(agentId: string): string {
  return AgentCursor.encode({ a: agentId });
}

export function decodeAgentCursor(cursor: string): string {
  return AgentCursor.decode(cursor).a;
}
