import { describe, expect, it } from '@jest/globals';
import { visibilitySql } from './task.repository.js';

describe('visibilitySql', () => {
  it('translates every clause of the shared rule, the role clause only for tasks naming no agent', () => {
    expect(visibilitySql({ agentId: '$1', role: '$2' })).toBe(
      '((from_agent_id = $1) OR (assignee_agent_id = $1) OR (to_agent_id = $1) OR (to_role = $2 AND to_agent_id IS NULL)' +
        " OR ((escalated_to->>'role') = $2) OR ((escalated_to->>'userId') = $1))",
    );
  });
});
