import { hash } from 'node:crypto';

/** How many leading messages open a conversation at most (a long system preamble split into parts). */
const OPENING_MESSAGES = 4;

/**
 * The key of a request's conversation, for the pseudonym scope of a request that names neither a
 * workflow nor a session (libs/privacy pseudonymKeyScope): SHA-256 of the caller's subject and the
 * conversation's opening — the `system` field (Anthropic) and the messages up to and including the
 * first `user` one. Every turn of a conversation sends the same opening again, so its placeholders
 * stay the same from turn to turn (a signed thinking block sent back, a provider's cached prompt
 * prefix), and another conversation gets others. Undefined when the request has no messages.
 * The opening is hashed, never kept or logged.
 */
export function conversationKey(subject: string, document: Record<string, unknown>): string | undefined {
  const messages = document['messages'];
  if (!Array.isArray(messages) || messages.length === 0) return undefined;
  const opening: unknown[] = [];
  for (const message of messages.slice(0, OPENING_MESSAGES)) {
    opening.push(message);
    if (typeof message === 'object' && message !== null && (message as { role?: unknown }).role === 'user')
      break;
  }
  // One-shot over the joined string (the same bytes as the three updates it replaced, so the same
  // keys): no native Hash object, whose weak handle the next young-generation collection would visit.
  return hash(
    'sha256',
    `${subject}\u0000${JSON.stringify([document['system'] ?? null, opening])}`,
    'hex',
  ).slice(0, 32);
}
