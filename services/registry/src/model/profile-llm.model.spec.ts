import { describe, expect, it } from '@jest/globals';
import { RoleProfile } from '@orgmesh/contracts';
import { ProfileFileSchema } from './profile.model.js';

const file = (llm?: Record<string, unknown>) => ({
  id: 'finance',
  role: 'finance',
  providers: [{ name: 'openai', models: ['gpt-4o-mini'] }],
  privacy: { mode: 'mask' },
  ...(llm ? { llm } : {}),
});

describe('profile file: llm governance (issue 24)', () => {
  it('maps budgets, rate limits and the store rule onto the contract (camelCase), calendar by default', () => {
    const profile = ProfileFileSchema.parse(
      file({
        budgets: [
          { name: 'agent-daily-tokens', per: 'agent', tokens: 200000, window: 'day', warn_at: 0.9 },
          { name: 'role-monthly-cost', per: 'role', cost_usd: 250, window: 'month', reset: 'rolling' },
        ],
        rate_limits: [{ per: 'agent', requests_per_minute: 60, tokens_per_minute: 100000 }],
        on_store_unavailable: 'allow',
      }),
    );
    expect(profile.llm).toEqual({
      budgets: [
        {
          name: 'agent-daily-tokens',
          per: 'agent',
          tokens: 200000,
          window: 'day',
          reset: 'calendar',
          warnAt: 0.9,
        },
        { name: 'role-monthly-cost', per: 'role', costUsd: 250, window: 'month', reset: 'rolling' },
      ],
      rateLimits: [{ per: 'agent', requestsPerMinute: 60, tokensPerMinute: 100000 }],
      onStoreUnavailable: 'allow',
    });
    // What the file left out stays out, rather than present as undefined.
    expect(profile.llm?.budgets?.map((budget) => Object.keys(budget).sort())).toEqual([
      ['name', 'per', 'reset', 'tokens', 'warnAt', 'window'],
      ['costUsd', 'name', 'per', 'reset', 'window'],
    ]);
    expect(Object.keys(ProfileFileSchema.parse(file({ on_store_unavailable: 'allow' })).llm ?? {})).toEqual([
      'onStoreUnavailable',
    ]);
    // What the registry signs and the proxy reads is a valid contract profile.
    expect(RoleProfile.safeParse({ ...profile, isDefault: true }).success).toBe(true);
  });

  it('leaves llm out when not written, so the profile keeps its content and signature', () => {
    expect('llm' in ProfileFileSchema.parse(file())).toBe(false);
  });

  it('refuses a budget with both or neither limit, a rate limit without one, unknown keys and bad windows', () => {
    const budget = { name: 'b-one', per: 'agent', window: 'day' };
    expect(
      ProfileFileSchema.safeParse(file({ budgets: [{ ...budget, tokens: 1, cost_usd: 1 }] })).success,
    ).toBe(false);
    expect(ProfileFileSchema.safeParse(file({ budgets: [budget] })).success).toBe(false);
    expect(
      ProfileFileSchema.safeParse(file({ budgets: [{ ...budget, tokens: 1, window: 'year' }] })).success,
    ).toBe(false);
    expect(
      ProfileFileSchema.safeParse(file({ budgets: [{ ...budget, tokens: 1, warn_at: 1.5 }] })).success,
    ).toBe(false);
    expect(ProfileFileSchema.safeParse(file({ rate_limits: [{ per: 'agent' }] })).success).toBe(false);
    expect(ProfileFileSchema.safeParse(file({ budget: [] })).success).toBe(false);
    expect(ProfileFileSchema.safeParse(file({ on_store_unavailable: 'maybe' })).success).toBe(false);
  });
});
