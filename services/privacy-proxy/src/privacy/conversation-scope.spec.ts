import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { conversationKey } from './conversation-scope.js';

describe('conversationKey', () => {
  const document = {
    system: 'You help the finance team.',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Grüße: invoice INV-88412 for jane.doe@acme.example' },
      { role: 'assistant', content: 'Noted.' },
      { role: 'user', content: 'And the next one?' },
    ],
  };

  it('is the SHA-256 of the subject and the opening up to the first user message, as before', () => {
    // Replicas of two versions serve one conversation during a rollout: their keys must agree.
    const expected = createHash('sha256')
      .update('finance-agent')
      .update('\u0000')
      .update(JSON.stringify([document.system, document.messages.slice(0, 2)]))
      .digest('hex')
      .slice(0, 32);
    expect(conversationKey('finance-agent', document)).toBe(expected);
  });

  it('stays the same for the next turn and differs for another caller or another opening', () => {
    const key = conversationKey('finance-agent', document);
    const nextTurn = {
      ...document,
      messages: [...document.messages, { role: 'assistant', content: 'Yes.' }],
    };
    expect(conversationKey('finance-agent', nextTurn)).toBe(key);
    expect(conversationKey('legal-agent', document)).not.toBe(key);
    const other = { ...document, messages: [{ role: 'user', content: 'Another conversation' }] };
    expect(conversationKey('finance-agent', other)).not.toBe(key);
    expect(conversationKey('finance-agent', { messages: [] })).toBeUndefined();
  });
});
