import { describe, expect, it } from '@jest/globals';
import { checkModelPolicy, modelAllowed } from './model-policy.js';
import { DEFAULT_PRICES, PriceList } from './prices.js';
import { anthropicUsage, factsOfJson, modelLabel, openAiUsage, StreamUsageTap } from './usage.js';
import { windowReopens, windowStart } from './windows.js';
import { agentKey, roleKey } from './ledger.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('budget windows', () => {
  // Wednesday 2026-12-09 15:42 UTC.
  const now = at('2026-12-09T15:42:10Z');

  it('calendar windows are the UTC day, the ISO week from Monday and the month', () => {
    expect(iso(windowStart({ window: 'day', reset: 'calendar' }, now))).toBe('2026-12-09T00:00:00.000Z');
    expect(iso(windowStart({ window: 'week', reset: 'calendar' }, now))).toBe('2026-12-07T00:00:00.000Z');
    expect(iso(windowStart({ window: 'month', reset: 'calendar' }, now))).toBe('2026-12-01T00:00:00.000Z');
    // A Sunday belongs to the week that began the Monday before.
    expect(iso(windowStart({ window: 'week', reset: 'calendar' }, at('2026-12-13T23:59:00Z')))).toBe(
      '2026-12-07T00:00:00.000Z',
    );
    expect(iso(windowReopens({ window: 'day', reset: 'calendar' }, now))).toBe('2026-12-10T00:00:00.000Z');
    expect(iso(windowReopens({ window: 'week', reset: 'calendar' }, now))).toBe('2026-12-14T00:00:00.000Z');
    expect(iso(windowReopens({ window: 'month', reset: 'calendar' }, now))).toBe('2027-01-01T00:00:00.000Z');
  });

  it('rolling windows are the last 24 hours, 7 or 30 days by the hour, the current hour included', () => {
    expect(iso(windowStart({ window: 'day', reset: 'rolling' }, now))).toBe('2026-12-08T16:00:00.000Z');
    expect(iso(windowStart({ window: 'week', reset: 'rolling' }, now))).toBe('2026-12-02T16:00:00.000Z');
    expect(iso(windowStart({ window: 'month', reset: 'rolling' }, now))).toBe('2026-11-09T16:00:00.000Z');
    expect(iso(windowReopens({ window: 'month', reset: 'rolling' }, now))).toBe('2026-12-09T16:00:00.000Z');
  });
});

describe('price table', () => {
  const prices = new PriceList();

  it('prices a model by its longest prefix, so snapshots share their family price', () => {
    expect(prices.priceOf('gpt-4o-mini-2024-07-18')).toEqual(DEFAULT_PRICES['gpt-4o-mini']);
    expect(prices.priceOf('gpt-4o-2024-08-06')).toEqual(DEFAULT_PRICES['gpt-4o']);
    expect(prices.priceOf('claude-haiku-4-5-20251001')).toEqual(DEFAULT_PRICES['claude-haiku-4-5']);
    expect(prices.priceOf('llama3.1:8b')).toBeUndefined();
  });

  it('counts cache reads at their price and cache writes at 1.25 × input, in micro-dollars', () => {
    const usage = {
      inputTokens: 1_000_000,
      outputTokens: 100_000,
      cachedInputTokens: 400_000,
      cacheWriteTokens: 100_000,
      estimated: false,
    };
    // claude-sonnet-4: 500k × $3 + 400k × $0.30 + 100k × $3.75 + 100k × $15 per million.
    expect(prices.costMicroUsd('claude-sonnet-4-5', usage)).toBe(1_500_000 + 120_000 + 375_000 + 1_500_000);
    expect(prices.costMicroUsd('unknown-model', usage)).toBe(0);
  });
});

describe('model policy', () => {
  const governance = {
    profileId: 'finance',
    role: 'finance',
    providers: [
      { name: 'openai' as const, models: ['gpt-4o-mini'] },
      { name: 'anthropic' as const, models: [] },
    ],
  };

  it('allows listed models and their dated snapshots, any model where the list is empty', () => {
    expect(modelAllowed(['gpt-4o-mini'], 'gpt-4o-mini')).toBe(true);
    expect(modelAllowed(['gpt-4o-mini'], 'gpt-4o-mini-2024-07-18')).toBe(true);
    expect(modelAllowed(['claude-haiku-4-5'], 'claude-haiku-4-5-20251001')).toBe(true);
    expect(modelAllowed(['gpt-4o'], 'gpt-4o-mini')).toBe(false);
    expect(modelAllowed(['gpt-4o-mini'], 'gpt-4o-mini-high')).toBe(false);
    expect(modelAllowed([], 'anything')).toBe(true);
    expect(() => checkModelPolicy(governance, 'anthropic', 'claude-opus-4-1')).not.toThrow();
  });

  it('refuses with policy_denied naming the rule', () => {
    expect(() => checkModelPolicy(governance, 'openai', 'gpt-4.1')).toThrow(
      expect.objectContaining({
        code: 'policy_denied',
        details: { rule: 'profiles.finance.providers.openai.models', provider: 'openai' },
      }),
    );
    expect(() =>
      checkModelPolicy(
        { ...governance, providers: [governance.providers[0]!] },
        'anthropic',
        'claude-haiku-4-5',
      ),
    ).toThrow(/provider anthropic is not allowed \(allowed: openai\)/);
  });
});

describe('usage from answers', () => {
  it('reads OpenAI and Anthropic usage, cache tokens included in the input', () => {
    expect(
      openAiUsage({ prompt_tokens: 100, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 64 } }),
    ).toEqual({
      inputTokens: 100,
      outputTokens: 7,
      cachedInputTokens: 64,
      cacheWriteTokens: 0,
      estimated: false,
    });
    expect(
      anthropicUsage({
        input_tokens: 10,
        output_tokens: 5,
        cache_read_input_tokens: 200,
        cache_creation_input_tokens: 30,
      }),
    ).toEqual({
      inputTokens: 240,
      outputTokens: 5,
      cachedInputTokens: 200,
      cacheWriteTokens: 30,
      estimated: false,
    });
    expect(factsOfJson('openai', { model: 'gpt-4o', choices: [{ finish_reason: 'length' }] })).toEqual({
      model: 'gpt-4o',
      finishReasons: ['length'],
    });
    // Hostile values are not counted as usage.
    expect(openAiUsage({ prompt_tokens: -5, completion_tokens: 'many' })).toMatchObject({
      inputTokens: 0,
      outputTokens: 0,
    });
  });

  it('taps a stream: Anthropic output is the last cumulative message_delta, OpenAI usage the usage-only chunk', () => {
    const anthropic = new StreamUsageTap('anthropic');
    anthropic.observe({
      event: 'message_start',
      data: JSON.stringify({
        type: 'message_start',
        message: { model: 'claude-x', usage: { input_tokens: 12, output_tokens: 1 } },
      }),
    });
    anthropic.observe({
      event: 'content_block_delta',
      data: JSON.stringify({ type: 'content_block_delta', delta: { type: 'text_delta', text: 'hi' } }),
    });
    anthropic.observe({
      event: 'message_delta',
      data: JSON.stringify({
        type: 'message_delta',
        delta: { stop_reason: 'end_turn' },
        usage: { output_tokens: 9 },
      }),
    });
    expect(anthropic.result()).toEqual({
      model: 'claude-x',
      finishReasons: ['end_turn'],
      usage: {
        inputTokens: 12,
        outputTokens: 9,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        estimated: false,
      },
    });
    expect(anthropic.keptText().text).toBe('hi');

    const openai = new StreamUsageTap('openai');
    expect(
      openai.observe({
        data: JSON.stringify({
          model: 'gpt-4o',
          choices: [{ delta: { content: 'a' }, finish_reason: null }],
        }),
      }),
    ).toBe(false);
    expect(
      openai.observe({ data: JSON.stringify({ choices: [{ delta: {}, finish_reason: 'stop' }] }) }),
    ).toBe(false);
    expect(
      openai.observe({
        data: JSON.stringify({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } }),
      }),
    ).toBe(true);
    expect(openai.observe({ data: '[DONE]' })).toBe(false);
    expect(openai.result()).toMatchObject({
      model: 'gpt-4o',
      finishReasons: ['stop'],
      usage: { inputTokens: 3, outputTokens: 4 },
    });
  });
});

describe('model labels', () => {
  it('keep identifier-shaped names and never carry free text into telemetry', () => {
    expect(modelLabel('gpt-4o-mini-2024-07-18')).toBe('gpt-4o-mini-2024-07-18');
    expect(modelLabel('accounts/fireworks/models/llama-v3p1-8b')).toBe(
      'accounts/fireworks/models/llama-v3p1-8b',
    );
    expect(modelLabel('maria.gonzalez@example.org')).toBe('other');
    expect(modelLabel('call Jane Doe')).toBe('other');
    expect(modelLabel('')).toBe('unknown');
  });
});

describe('counter keys', () => {
  it('cannot be made to collide by ids that contain the separator', () => {
    expect(agentKey({ tenant: 'acme', agentId: 'finance-agent', role: 'finance' })).toBe(
      'agent:acme:finance-agent',
    );
    expect(agentKey({ tenant: 'a:b', agentId: 'c', role: 'r' })).not.toBe(
      agentKey({ tenant: 'a', agentId: 'b:c', role: 'r' }),
    );
    expect(roleKey({ tenant: 'a%3Ab', agentId: 'x', role: 'c' })).not.toBe(
      roleKey({ tenant: 'a:b', agentId: 'x', role: 'c' }),
    );
  });
});
