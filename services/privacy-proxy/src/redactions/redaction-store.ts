import type { PrivacyRedactedPayload, REDACTION_ACTIONS, REDACTION_BUCKETS } from '@orgmesh/contracts';
import type { Sql } from '@orgmesh/persistence';
import type { Logger } from '@orgmesh/telemetry';
import type { AuditSink } from '../audit/audit-sink.js';
import {
  IN_RANGE,
  MemoryAggregateStore,
  PostgresAggregateStore,
  rangeParams,
  writerFor,
} from '../governance/aggregate-stores.js';
import {
  AggregatingWriter,
  type AggregateQuery,
  type AggregateStore,
  type AggregatingWriterOptions,
  type SumTable,
} from '../governance/aggregating-writer.js';
import { DAY_MS, hourOf } from '../governance/windows.js';

export type RedactionAction = (typeof REDACTION_ACTIONS)[number];
export type RedactionBucket = (typeof REDACTION_BUCKETS)[number];

/** One hour of one role's findings of one entity type under one action: a count, nothing else. */
export interface RedactionCount {
  /** Hour bucket start, epoch ms. */
  readonly bucket: number;
  readonly tenant: string;
  readonly role: string;
  readonly entityType: string;
  readonly action: RedactionAction;
  count: number;
}

/** Counts of one bucket (hour or day), role and entity type, per action. */
export interface RedactionTotals {
  /** Bucket start, epoch ms. */
  readonly bucket: number;
  readonly role: string;
  readonly entityType: string;
  masked: number;
  passed: number;
  refused: number;
}

export interface RedactionQuery extends AggregateQuery {
  readonly role?: string;
  readonly entityType?: string;
  readonly bucket: RedactionBucket;
}

/** Where redaction counts are kept: Postgres `privacy_proxy.redaction_counts`, or this process's memory. */
export type RedactionStore = AggregateStore<RedactionCount, RedactionQuery, RedactionTotals>;

/** The per-action counts of one audit event, by entity type (what `privacy.v1.redacted` distinguishes). */
export function countsOf(event: PrivacyRedactedPayload, bucket: number): RedactionCount[] {
  const rows: RedactionCount[] = [];
  const add = (action: RedactionAction, counts: Record<string, number> | undefined) => {
    for (const [entityType, count] of Object.entries(counts ?? {}))
      if (count > 0) rows.push({ bucket, tenant: event.tenant, role: event.role, entityType, action, count });
  };
  add('masked', event.maskedCounts);
  add('passed', event.passedCounts);
  add('refused', event.refusedCounts);
  return rows;
}

interface PgRedactionRow {
  bucket_ms: string;
  role: string;
  entity_type: string;
  masked: string;
  passed: string;
  refused: string;
}

/** `redaction_counts`: one row per hour, role, entity type and action, its count summed. */
const REDACTION_COUNTS: SumTable<RedactionCount> = {
  table: 'redaction_counts',
  keys: { tenant: 'tenant', role: 'role', entity_type: 'entityType', action: 'action' },
  sums: { count: 'count' },
  statement: 'privacy-proxy-redactions-add',
};

export class PostgresRedactionStore extends PostgresAggregateStore<
  RedactionCount,
  RedactionQuery,
  RedactionTotals
> {
  constructor(db: Sql) {
    super(db, REDACTION_COUNTS);
  }

  async query(q: RedactionQuery): Promise<RedactionTotals[]> {
    // Days are UTC days, as the hours are UTC hours.
    const result = await this.db.query<PgRedactionRow>(
      `SELECT (extract(epoch from date_trunc($6, bucket, 'UTC')) * 1000)::bigint AS bucket_ms, role, entity_type,
              coalesce(sum(count) FILTER (WHERE action = 'masked'), 0) AS masked,
              coalesce(sum(count) FILTER (WHERE action = 'passed'), 0) AS passed,
              coalesce(sum(count) FILTER (WHERE action = 'refused'), 0) AS refused
         FROM redaction_counts
        WHERE ${IN_RANGE}
          AND ($4::text IS NULL OR role = $4) AND ($5::text IS NULL OR entity_type = $5)
        GROUP BY 1, 2, 3
        ORDER BY 1 DESC, 2, 3
        LIMIT $7`,
      [...rangeParams(q), q.role ?? null, q.entityType ?? null, q.bucket, q.limit],
    );
    return result.rows.map((r) => ({
      bucket: Number(r.bucket_ms),
      role: r.role,
      entityType: r.entity_type,
      masked: Number(r.masked),
      passed: Number(r.passed),
      refused: Number(r.refused),
    }));
  }
}

/** Counts of this process only (no DATABASE_URL): kept for the last `keepMs`. */
export class MemoryRedactionStore extends MemoryAggregateStore<
  RedactionCount,
  RedactionQuery,
  RedactionTotals
> {
  constructor(keepMs = 7 * DAY_MS) {
    super(REDACTION_COUNTS, keepMs);
  }

  query(q: RedactionQuery): Promise<RedactionTotals[]> {
    const grouped = new Map<string, RedactionTotals>();
    for (const r of this.rowsIn(q)) {
      if (
        (q.role !== undefined && r.role !== q.role) ||
        (q.entityType !== undefined && r.entityType !== q.entityType)
      )
        continue;
      const bucket = q.bucket === 'day' ? Math.floor(r.bucket / DAY_MS) * DAY_MS : r.bucket;
      const key = [bucket, r.role, r.entityType].join('\u0000');
      const totals = grouped.get(key) ?? {
        bucket,
        role: r.role,
        entityType: r.entityType,
        masked: 0,
        passed: 0,
        refused: 0,
      };
      totals[r.action] += r.count;
      grouped.set(key, totals);
    }
    return Promise.resolve(
      [...grouped.values()]
        .sort(
          (a, b) =>
            b.bucket - a.bucket || a.role.localeCompare(b.role) || a.entityType.localeCompare(b.entityType),
        )
        .slice(0, q.limit),
    );
  }
}

/**
 * Counts what every audited request's profile did, per hour, role, entity type and action, and
 * writes the sums in one statement a second (AggregatingWriter): the request path only adds to a
 * map. It is an AuditSink, teed with the real one, so it sees exactly what the audit sees — and,
 * like the audit, counts only: the event carries no value, and only its counts are kept.
 */
export class RedactionRecorder extends AggregatingWriter<RedactionCount> implements AuditSink {
  private readonly now: () => number;

  constructor(
    readonly store: RedactionStore,
    logger: Logger,
    options: AggregatingWriterOptions & { now?: () => number } = {},
  ) {
    super(writerFor(store, REDACTION_COUNTS, 'redaction counts write failed'), logger, options);
    this.now = options.now ?? Date.now;
  }

  emit(event: PrivacyRedactedPayload): void {
    for (const row of countsOf(event, hourOf(this.now()))) this.record(row);
  }
}

/** Both sinks get every event; a throwing one does not keep it from the other. */
export function teeAudit(first: AuditSink, second: AuditSink): AuditSink {
  return {
    emit(event) {
      try {
        first.emit(event);
      } finally {
        second.emit(event);
      }
    },
  };
}
