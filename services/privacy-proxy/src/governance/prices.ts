import { z } from 'zod';
import type { LlmUsage } from './usage.js';

/** US dollars per million tokens. `cachedInput`: cache reads; cache writes are priced at 1.25 × input. */
export const ModelPriceSchema = z.object({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cachedInput: z.number().nonnegative().optional(),
});
export type ModelPrice = z.infer<typeof ModelPriceSchema>;
export const PriceTableSchema = z.record(z.string().min(1), ModelPriceSchema);
export type PriceTable = z.infer<typeof PriceTableSchema>;

/**
 * SHIPPED DEFAULTS — list prices as published by OpenAI and Anthropic for standard API use in 2025,
 * copied by hand, not fetched. They go stale: an operator sets the org's own with
 * `PRIVACY_LLM_PRICES` (merged over these, by model). Keys are model-name prefixes; the longest
 * prefix of a model's name prices it, so dated snapshots (`gpt-4o-mini-2024-07-18`,
 * `claude-haiku-4-5-20251001`) share their family's price.
 */
export const DEFAULT_PRICES: PriceTable = {
  'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
  'gpt-4o': { input: 2.5, output: 10, cachedInput: 1.25 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4, cachedInput: 0.025 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cachedInput: 0.1 },
  'gpt-4.1': { input: 2, output: 8, cachedInput: 0.5 },
  'gpt-5-nano': { input: 0.05, output: 0.4, cachedInput: 0.005 },
  'gpt-5-mini': { input: 0.25, output: 2, cachedInput: 0.025 },
  'gpt-5': { input: 1.25, output: 10, cachedInput: 0.125 },
  'o4-mini': { input: 1.1, output: 4.4, cachedInput: 0.275 },
  o3: { input: 2, output: 8, cachedInput: 0.5 },
  'claude-opus-4': { input: 15, output: 75, cachedInput: 1.5 },
  'claude-sonnet-4': { input: 3, output: 15, cachedInput: 0.3 },
  'claude-haiku-4-5': { input: 1, output: 5, cachedInput: 0.1 },
  'claude-3-7-sonnet': { input: 3, output: 15, cachedInput: 0.3 },
  'claude-3-5-haiku': { input: 0.8, output: 4, cachedInput: 0.08 },
};

/** Prices models by the longest matching prefix; a model none matches costs 0 and is reported unpriced. */
export class PriceList {
  private readonly entries: Array<[string, ModelPrice]>;
  private readonly memo = new Map<string, ModelPrice | undefined>();

  constructor(table: PriceTable = DEFAULT_PRICES) {
    this.entries = Object.entries(table).sort((a, b) => b[0].length - a[0].length);
  }

  priceOf(model: string): ModelPrice | undefined {
    if (this.memo.has(model)) return this.memo.get(model);
    const found = this.entries.find(([prefix]) => model === prefix || model.startsWith(prefix))?.[1];
    if (this.memo.size < 10_000) this.memo.set(model, found);
    return found;
  }

  /** Cost of one call in micro-dollars (integers, so that sums are exact). */
  costMicroUsd(model: string, usage: LlmUsage): number {
    const price = this.priceOf(model);
    if (!price) return 0;
    const cached = usage.cachedInputTokens;
    const written = usage.cacheWriteTokens;
    const plain = Math.max(0, usage.inputTokens - cached - written);
    const perToken =
      plain * price.input +
      cached * (price.cachedInput ?? price.input) +
      written * price.input * 1.25 +
      usage.outputTokens * price.output;
    // $ per million tokens × tokens = micro-dollars.
    return Math.round(perToken);
  }
}
