import type { Sql } from '@orgmesh/persistence';
import type { Logger } from '@orgmesh/telemetry';
import {
  IN_RANGE,
  MemoryAggregateStore,
  PostgresAggregateStore,
  rangeParams,
  writerFor,
} from './aggregate-stores.js';
import {
  AggregatingWriter,
  type AggregateQuery,
  type AggregateStore,
  type AggregatingWriterOptions,
  type SumTable,
} from './aggregating-writer.js';

/** The dimensions one model call is attributed to ('' where the call named none). */
export interface UsageDimensions {
  readonly tenant: string;
  readonly agentId: string;
  readonly role: string;
  readonly profileId: string;
  readonly sessionId: string;
  readonly workflowId: string;
  readonly provider: string;
  readonly model: string;
}

export interface UsageTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  costMicroUsd: number;
  estimatedRequests: number;
}

export interface UsageRow extends UsageDimensions, UsageTotals {
  /** Hour bucket start, epoch ms. */
  readonly bucket: number;
}

export interface UsageQuery extends AggregateQuery {
  readonly agentId?: string;
  readonly role?: string;
  readonly model?: string;
  readonly provider?: string;
}

/** Where aggregated usage is kept: Postgres `privacy_proxy.llm_usage`, or this process's memory. */
export type UsageStore = AggregateStore<UsageRow, UsageQuery>;

interface PgUsageRow {
  bucket_ms: string;
  tenant: string;
  agent_id: string;
  role: string;
  profile_id: string;
  session_id: string;
  workflow_id: string;
  provider: string;
  model: string;
  requests: string;
  input_tokens: string;
  output_tokens: string;
  cached_input_tokens: string;
  cost_micro_usd: string;
  estimated_requests: string;
}

/** `llm_usage`: one row per hour and dimensions, its counts summed as calls are recorded. */
const LLM_USAGE: SumTable<UsageRow> = {
  table: 'llm_usage',
  keys: {
    tenant: 'tenant',
    agent_id: 'agentId',
    role: 'role',
    profile_id: 'profileId',
    session_id: 'sessionId',
    workflow_id: 'workflowId',
    provider: 'provider',
    model: 'model',
  },
  sums: {
    requests: 'requests',
    input_tokens: 'inputTokens',
    output_tokens: 'outputTokens',
    cached_input_tokens: 'cachedInputTokens',
    cost_micro_usd: 'costMicroUsd',
    estimated_requests: 'estimatedRequests',
  },
  statement: 'privacy-proxy-usage-add',
};

export class PostgresUsageStore extends PostgresAggregateStore<UsageRow, UsageQuery> {
  constructor(db: Sql) {
    super(db, LLM_USAGE);
  }

  async query(q: UsageQuery): Promise<UsageRow[]> {
    const result = await this.db.query<PgUsageRow>(
      `SELECT (extract(epoch from bucket) * 1000)::bigint AS bucket_ms, tenant, agent_id, role, profile_id, session_id,
              workflow_id, provider, model, requests, input_tokens, output_tokens, cached_input_tokens,
              cost_micro_usd, estimated_requests
         FROM llm_usage
        WHERE ${IN_RANGE}
          AND ($4::text IS NULL OR agent_id = $4) AND ($5::text IS NULL OR role = $5)
          AND ($6::text IS NULL OR model = $6) AND ($7::text IS NULL OR provider = $7)
        ORDER BY bucket DESC, agent_id, model
        LIMIT $8`,
      [...rangeParams(q), q.agentId ?? null, q.role ?? null, q.model ?? null, q.provider ?? null, q.limit],
    );
    return result.rows.map((r) => ({
      bucket: Number(r.bucket_ms),
      tenant: r.tenant,
      agentId: r.agent_id,
      role: r.role,
      profileId: r.profile_id,
      sessionId: r.session_id,
      workflowId: r.workflow_id,
      provider: r.provider,
      model: r.model,
      requests: Number(r.requests),
      inputTokens: Number(r.input_tokens),
      outputTokens: Number(r.output_tokens),
      cachedInputTokens: Number(r.cached_input_tokens),
      costMicroUsd: Number(r.cost_micro_usd),
      estimatedRequests: Number(r.estimated_requests),
    }));
  }
}

/** Usage of this process only (no DATABASE_URL): kept for the last `keepMs`. */
export class MemoryUsageStore extends MemoryAggregateStore<UsageRow, UsageQuery> {
  constructor(keepMs = 7 * 86_400_000) {
    super(LLM_USAGE, keepMs);
  }

  query(q: UsageQuery): Promise<UsageRow[]> {
    return Promise.resolve(
      this.rowsIn(q)
        .filter(
          (r) =>
            (q.agentId === undefined || r.agentId === q.agentId) &&
            (q.role === undefined || r.role === q.role) &&
            (q.model === undefined || r.model === q.model) &&
            (q.provider === undefined || r.provider === q.provider),
        )
        .sort((a, b) => b.bucket - a.bucket || a.agentId.localeCompare(b.agentId))
        .slice(0, q.limit)
        .map((r) => ({ ...r })),
    );
  }
}

/**
 * Aggregates calls in memory per hour and dimensions and writes them in one statement per interval,
 * off the request path. A failed write keeps the rows for the next one (bounded: past `maxRows`
 * distinct rows the oldest aggregates are dropped and counted).
 */
export class UsageRecorder extends AggregatingWriter<UsageRow> {
  constructor(
    readonly store: UsageStore,
    logger: Logger,
    options: AggregatingWriterOptions = {},
  ) {
    super(writerFor(store, LLM_USAGE, 'usage write failed'), logger, options);
  }
}
