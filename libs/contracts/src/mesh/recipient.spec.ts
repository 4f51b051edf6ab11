import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { SendTask } from './send-task.rpc.js';
import { RecipientInput } from './task.schema.js';

describe('RecipientInput', () => {
  it('accepts a bare id, {role}, {agentId} and {role, agentId}', () => {
    for (const to of [
      'accounts-payable-agent',
      'legal',
      { role: 'legal' },
      { agentId: 'legal-agent' },
      { role: 'legal', agentId: 'legal-agent' },
    ]) {
      expect(RecipientInput.parse(to)).toEqual(to);
    }
  });

  it('refuses an object naming nobody, and a misspelt key instead of widening the address to the role', () => {
    const empty = RecipientInput.safeParse({});
    expect(empty.success).toBe(false);
    expect(empty.error?.issues.map((i) => i.message)).toContain('name a role, an agent, or both');
    expect(RecipientInput.safeParse({ role: 'legal', agent_id: 'legal-agent' }).success).toBe(false);
    expect(RecipientInput.safeParse({ agentId: 'legal-agent', role: 'Legal!' }).success).toBe(false);
    expect(RecipientInput.safeParse({ agentId: null }).success).toBe(false);
  });

  it('keeps ids subject-safe: kebab-case only', () => {
    for (const to of ['legal.>', 'a', 'Legal', { agentId: 'a b' }, { role: 'legal', agentId: '*' }])
      expect(RecipientInput.safeParse(to).success).toBe(false);
  });

  it('documents every form in the JSON Schema of a send', () => {
    const schema = z.toJSONSchema(SendTask.request, { io: 'input', unrepresentable: 'any' }) as unknown as {
      properties: { to: { description?: string; anyOf?: Array<Record<string, unknown>> } };
    };
    const to = schema.properties.to;
    expect(to.description).toMatch(/agent id or a role id/);
    const object = to.anyOf?.find((s) => s['type'] === 'object');
    expect(object).toMatchObject({
      additionalProperties: false,
      minProperties: 1,
      properties: { role: { type: 'string' }, agentId: { type: 'string' } },
    });
    expect(object?.['required']).toBeUndefined();
  });
});
