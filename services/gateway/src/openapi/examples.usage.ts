import type { OperationExample } from './examples.js';

/** The privacy proxy's records: LLM usage and cost (usage.routes.ts) and redaction counts (privacy.routes.ts). */
export const USAGE_EXAMPLES: Readonly<Record<string, OperationExample>> = {
  getUsage: {
    parameters: { agentId: 'finance-agent', from: '2026-03-02T00:00:00Z', limit: 50 },
    response: {
      rows: [
        {
          hour: '2026-03-02T09:00:00.000Z',
          agentId: 'finance-agent',
          role: 'finance',
          profileId: 'finance',
          sessionId: '',
          workflowId: 'ctx-q1-close',
          provider: 'openai',
          model: 'gpt-4o-mini',
          requests: 12,
          inputTokens: 48210,
          outputTokens: 3904,
          cachedInputTokens: 20480,
          costUsd: 0.008,
          estimatedRequests: 0,
        },
      ],
      totals: { requests: 12, inputTokens: 48210, outputTokens: 3904, costUsd: 0.008 },
      from: '2026-03-02T00:00:00.000Z',
      to: '2026-03-02T10:15:00.000Z',
      truncated: false,
    },
  },
  getRedactions: {
    parameters: { role: 'finance', from: '2026-03-02T00:00:00Z', bucket: 'hour' },
    response: {
      rows: [
        {
          bucket: '2026-03-02T09:00:00.000Z',
          role: 'finance',
          entityType: 'email',
          masked: 14,
          passed: 0,
          refused: 0,
        },
        {
          bucket: '2026-03-02T09:00:00.000Z',
          role: 'finance',
          entityType: 'iban',
          masked: 3,
          passed: 0,
          refused: 1,
        },
      ],
      totals: { masked: 17, passed: 0, refused: 1 },
      from: '2026-03-02T00:00:00.000Z',
      to: '2026-03-02T10:15:00.000Z',
      bucket: 'hour',
      truncated: false,
    },
  },
};
