import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { startTracing, type Tracing } from '@orgmesh/telemetry';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import { Database } from '../src/index.js';

const SCHEMA = 'dbtrace';
const SECRET = 'alice.secret@example.com';

describe('Database spans (with an OpenTelemetry SDK)', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let ctx: TestContext;
  let db: Database;
  const tracer = () => trace.getTracer('db-test');

  beforeAll(async () => {
    tracing = startTracing({ service: 'db-test', exporter });
    ctx = await createTestContext();
    db = await Database.connect({ url: ctx.databaseUrl, schema: SCHEMA });
    await db.query(`CREATE SCHEMA "${SCHEMA}"`);
    await db.query(`CREATE TABLE "${SCHEMA}".people (email text PRIMARY KEY)`);
  });

  afterAll(async () => {
    await db?.close();
    await ctx?.dispose();
    await tracing?.shutdown();
  });

  beforeEach(() => exporter.reset());

  it('a query inside a trace is a db.query CLIENT child span with the operation, never the SQL or its values', async () => {
    await tracer().startActiveSpan('handler', async (span) => {
      await db.query(`INSERT INTO "${SCHEMA}".people (email) VALUES ($1)`, [SECRET]);
      await db.query(`SELECT email FROM "${SCHEMA}".people WHERE email = $1`, [SECRET]);
      span.end();
    });
    const spans = exporter.getFinishedSpans();
    const handler = spans.find((s) => s.name === 'handler');
    const queries = spans.filter((s) => s.name === 'db.query');
    expect(queries.map((q) => q.attributes['db.operation.name'])).toEqual(['INSERT', 'SELECT']);
    for (const query of queries) {
      expect(query.kind).toBe(SpanKind.CLIENT);
      expect(query.parentSpanContext?.spanId).toBe(handler?.spanContext().spanId);
      expect(query.spanContext().traceId).toBe(handler?.spanContext().traceId);
      expect(query.attributes).toEqual({
        'db.system': 'postgresql',
        'db.system.name': 'postgresql',
        'db.operation': query.attributes['db.operation.name'],
        'db.operation.name': query.attributes['db.operation.name'],
        'db.namespace': SCHEMA,
      });
    }
    expect(JSON.stringify(spans.map((s) => [s.attributes, s.events]))).not.toContain(SECRET);
  });

  it('a transaction is one db.transaction span with its statements as children; a failure records the pg code only', async () => {
    await tracer().startActiveSpan('handler', async (span) => {
      await db
        .transaction(async (tx) => {
          await tx.query(`SELECT 1`);
          await tx.query(`INSERT INTO "${SCHEMA}".people (email) VALUES ($1)`, [SECRET]);
        })
        .catch(() => undefined);
      span.end();
    });
    const spans = exporter.getFinishedSpans();
    const handler = spans.find((s) => s.name === 'handler');
    const transaction = spans.find((s) => s.name === 'db.transaction');
    const statements = spans.filter((s) => s.name === 'db.query');
    expect(transaction?.parentSpanContext?.spanId).toBe(handler?.spanContext().spanId);
    expect(statements).toHaveLength(2);
    for (const statement of statements)
      expect(statement.parentSpanContext?.spanId).toBe(transaction?.spanContext().spanId);
    // The duplicate key fails the insert and the transaction: unique_violation, not the driver's message.
    expect(statements[1]?.attributes['error.type']).toBe('23505');
    expect(statements[1]?.status.code).toBe(2);
    expect(transaction?.status.code).toBe(2);
    expect(JSON.stringify(spans.map((s) => [s.attributes, s.events, s.status]))).not.toContain(SECRET);
  });

  it('work outside any trace (background jobs) makes no spans', async () => {
    await db.query('SELECT 1');
    await db.transaction((tx) => tx.query('SELECT 2'));
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
