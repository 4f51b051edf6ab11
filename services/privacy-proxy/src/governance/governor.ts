import type { LlmGovernance, PrivacyBudgetWarningPayload } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import type { LlmUsageCounters, PrivacyProxyMetrics } from '../privacy-proxy.metrics.js';
import {
  BudgetLedger,
  GovernanceRefusal,
  type BudgetWarning,
  type LedgerSubject,
  type Reservation,
} from './ledger.js';
import type { CounterStore } from './counter-store.js';
import { PriceList } from './prices.js';
import {
  estimateUsage,
  modelLabel,
  quickInputEstimate,
  type AnswerFacts,
  type LlmUsage,
  type Provider,
} from './usage.js';
import { UsageRecorder, type UsageStore } from './usage-store.js';
import { hourOf } from './windows.js';

export interface GovernorOptions {
  readonly counters: CounterStore;
  readonly usage: UsageStore;
  readonly prices?: PriceList;
  readonly logger: Logger;
  /** Output tokens a call reserves before its real usage is known (capped by its max_tokens); default 1024. */
  readonly outputReserveTokens?: number;
  /** Budget warnings (published as privacy.v1.budget-warning). */
  readonly onWarning?: (warning: PrivacyBudgetWarningPayload) => void;
  readonly syncIntervalMs?: number;
  readonly staleAfterMs?: number;
  readonly usageFlushMs?: number;
  readonly now?: () => number;
}

/** Who made a call and what it belongs to. */
export interface CallContext extends LedgerSubject {
  readonly sessionId: string;
  readonly workflowId: string;
  readonly provider: Provider;
  readonly model: string;
}

/** One admitted model call: finished exactly once, with what the provider reported (or nothing). */
export interface GovernedCall {
  /**
   * Settles the reservation and records usage; estimates from the tokenizer when `facts` has no usage.
   * `texts` is called only then: collecting a stream's text parses each of its events again.
   */
  finish(
    facts: AnswerFacts | undefined,
    texts: (() => { request: string; answer: string }) | undefined,
  ): Promise<LlmUsage | undefined>;
}

function maxOutputOf(document: Record<string, unknown>): number | undefined {
  for (const key of ['max_completion_tokens', 'max_tokens', 'max_output_tokens']) {
    const value = document[key];
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  }
  return undefined;
}

/**
 * LLM governance at the proxy (issue 24, ADR 0016): admits calls against the caller's budgets and
 * rate limits (BudgetLedger, in memory with a shared store behind it), records every call's usage and
 * cost per agent, role, session, workflow, provider and model, and counts it in the metrics.
 */
export class Governor {
  readonly ledger: BudgetLedger;
  readonly recorder: UsageRecorder;
  readonly prices: PriceList;
  private readonly outputReserve: number;
  private readonly now: () => number;
  private readonly usageCounters: LlmUsageCounters;

  constructor(
    private readonly options: GovernorOptions,
    private readonly metrics: PrivacyProxyMetrics,
  ) {
    this.prices = options.prices ?? new PriceList();
    this.outputReserve = options.outputReserveTokens ?? 1024;
    this.now = options.now ?? Date.now;
    this.usageCounters = metrics.llmUsage();
    this.ledger = new BudgetLedger({
      store: options.counters,
      logger: options.logger,
      now: this.now,
      ...(options.syncIntervalMs !== undefined ? { syncIntervalMs: options.syncIntervalMs } : {}),
      ...(options.staleAfterMs !== undefined ? { staleAfterMs: options.staleAfterMs } : {}),
      onWarning: (warning) => this.warned(warning),
      onStoreError: () => metrics.budgetStoreErrors.inc(),
    });
    this.recorder = new UsageRecorder(options.usage, options.logger, {
      ...(options.usageFlushMs !== undefined ? { intervalMs: options.usageFlushMs } : {}),
    });
  }

  start(): void {
    this.ledger.start();
    this.recorder.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.ledger.stop(), this.recorder.stop()]);
  }

  /** Refuses (GovernanceRefusal) or admits the call and reserves its estimate. */
  async admit(
    context: CallContext,
    governance: LlmGovernance | undefined,
    request: { bytes: number; document: Record<string, unknown> },
  ): Promise<GovernedCall> {
    const output = Math.min(maxOutputOf(request.document) ?? this.outputReserve, this.outputReserve);
    const input = quickInputEstimate(request.bytes);
    const estimate = {
      tokens: input + output,
      costMicroUsd: this.prices.costMicroUsd(context.model, {
        inputTokens: input,
        outputTokens: output,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        estimated: true,
      }),
    };
    let reservation: Reservation;
    try {
      reservation = await this.ledger.admit(context, governance, estimate);
    } catch (error) {
      if (error instanceof GovernanceRefusal) this.metrics.llmRefusals.inc({ reason: error.reason });
      throw error;
    }
    let finished = false;
    return {
      finish: async (facts, texts) => {
        if (finished) return undefined;
        finished = true;
        // No answer at all (refused by the privacy check, upstream unreachable): nothing was used.
        if (!facts) {
          reservation.settle({ tokens: 0, costMicroUsd: 0 });
          return undefined;
        }
        let usage = facts.usage;
        if (!usage) {
          try {
            const said = texts?.();
            usage = await estimateUsage(said?.request ?? '', said?.answer ?? '');
          } catch {
            usage = {
              inputTokens: input,
              outputTokens: output,
              cachedInputTokens: 0,
              cacheWriteTokens: 0,
              estimated: true,
            };
          }
        }
        // The answer's model when it names one (the snapshot that served), else the request's.
        const model = facts.model ? modelLabel(facts.model) : context.model || 'unknown';
        const cost = this.prices.costMicroUsd(model, usage);
        reservation.settle({ tokens: usage.inputTokens + usage.outputTokens, costMicroUsd: cost });
        this.count(context, model, usage, cost);
        return usage;
      },
    };
  }

  /** One answered call into the usage aggregates and the Prometheus counters. */
  private count(context: CallContext, model: string, usage: LlmUsage, cost: number): void {
    this.recorder.record({
      bucket: hourOf(this.now()),
      tenant: context.tenant,
      agentId: context.agentId,
      role: context.role,
      profileId: context.profileId ?? '',
      sessionId: context.sessionId,
      workflowId: context.workflowId,
      provider: context.provider,
      model,
      requests: 1,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cachedInputTokens: usage.cachedInputTokens,
      costMicroUsd: cost,
      estimatedRequests: usage.estimated ? 1 : 0,
    });
    const labels = { provider: context.provider, model, role: context.role };
    const counters = this.usageCounters;
    counters.calls.inc({ ...labels, estimated: String(usage.estimated) });
    counters.tokens.inc({ ...labels, type: 'input' }, usage.inputTokens);
    counters.tokens.inc({ ...labels, type: 'output' }, usage.outputTokens);
    if (usage.cachedInputTokens > 0)
      counters.tokens.inc({ ...labels, type: 'cached_input' }, usage.cachedInputTokens);
    counters.cost.inc(labels, cost / 1e6);
  }

  private warned(warning: BudgetWarning): void {
    this.metrics.budgetWarnings.inc();
    const { subject, budget } = warning;
    this.options.onWarning?.({
      eventId: warning.id,
      tenant: subject.tenant,
      role: subject.role,
      ...(budget.per === 'agent' ? { agentId: subject.agentId } : {}),
      ...(subject.profileId ? { profileId: subject.profileId } : {}),
      budget: budget.name,
      per: budget.per,
      window: budget.window,
      reset: budget.reset,
      windowStart: new Date(warning.windowStart).toISOString(),
      unit: budget.tokens !== undefined ? 'tokens' : 'usd',
      limit: warning.limit,
      used: warning.used,
      warnAt: warning.warnAt,
      occurredAt: new Date(this.now()).toISOString(),
    });
  }
}
