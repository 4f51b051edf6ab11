import 'reflect-metadata';
import { DataSource, type QueryRunner } from 'typeorm';
import { SpanKind, SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import { AppError } from '@orgmesh/contracts';

/** Rows plus affected count: one shape for SELECT, INSERT … RETURNING, UPDATE and DELETE alike. */
export interface QueryRows<T> {
  rows: T[];
  rowCount: number;
}

/**
 * Per-statement options. `name` makes it a named prepared statement: each pooled connection
 * parses it once and Postgres may keep its plan, instead of parsing and planning the text on every
 * call. For a long statement (a batch write with several CTEs) that is most of its cost: measured
 * here, parse + bind of the mesh router's batched create took ~0.8 ms of the ~1.2 ms it spent in
 * Postgres. A name must always come with the same text.
 */
export interface QueryOptions {
  name?: string;
}

/** Anything that runs SQL: the database itself or an open transaction. Repositories take this. */
export interface Sql {
  query<T = Record<string, unknown>>(
    text: string,
    params?: unknown[],
    options?: QueryOptions,
  ): Promise<QueryRows<T>>;
}

/** The pg client under a TypeORM query runner (what PostgresQueryRunner.connect() resolves to). */
interface PgClient {
  query(config: {
    name: string;
    text: string;
    values?: unknown[];
  }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

export interface DatabaseOptions {
  url: string;
  /** The service's own Postgres schema; it becomes the search_path of every connection. */
  schema: string;
  poolSize?: number;
  applicationName?: string;
  /** How long a caller waits for a pooled connection before `unavailable`. */
  connectTimeoutMs?: number;
  /** Per-statement timeout, so a stuck database answers `unavailable` instead of hanging callers. */
  statementTimeoutMs?: number;
  /**
   * Postgres's `plan_cache_mode` for every connection of the pool (default: the server's, `auto`).
   * `force_generic_plan` plans a named statement once per connection instead of at each execution:
   * only for a pool whose statements keep one good plan whatever the values and the table sizes
   * (the mesh router's batched writes, ADR 0025).
   */
  planCacheMode?: 'auto' | 'force_generic_plan' | 'force_custom_plan';
}

const PLAN_CACHE_MODES = new Set(['auto', 'force_generic_plan', 'force_custom_plan']);

// Connection-level failures: the server is down, restarting, or refusing us. They map to `unavailable` (503, retryable).
const UNAVAILABLE_PG_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
]);
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/** Whether an error from pg/TypeORM means the database could not be reached (as opposed to a bad query). */
export function isConnectionError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
    if (
      typeof e.code === 'string' &&
      (UNAVAILABLE_PG_CODES.has(e.code) || UNAVAILABLE_NODE_CODES.has(e.code))
    )
      return true;
    if (
      typeof e.message === 'string' &&
      /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection/i.test(
        e.message,
      )
    ) {
      return true;
    }
    current = e.driverError ?? e.cause;
  }
  return false;
}

/** Rethrows connection failures as `unavailable`; anything else unchanged. */
export function mapDatabaseError(error: unknown): never {
  if (error instanceof AppError) throw error;
  if (isConnectionError(error)) throw new AppError('unavailable', 'database unavailable', { cause: error });
  throw error;
}

/**
 * The SQLSTATE of a failed statement (unique_violation = 23505, …), if any: on the error, its
 * TypeORM `driverError`, or a `cause` it was wrapped in (an AppError thrown around a driver error).
 * Only a five-character SQLSTATE counts, so a Node errno (`ECONNRESET`) or an AppError's own code
 * (`conflict`) is never taken for one and, say, retried as a deadlock or read as a duplicate key.
 */
export function pgErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const e = current as { code?: unknown; driverError?: unknown; cause?: unknown };
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
    current = e.driverError ?? e.cause;
  }
  return undefined;
}

export const PERSISTENCE_TRACER = '@orgmesh/persistence';

/**
 * The statement's first keyword (`SELECT`, `INSERT`, `WITH`, `BEGIN`…), leading comments skipped:
 * the only part of the SQL a span carries. Never the statement text, never its parameters.
 */
export function sqlOperation(text: string): string {
  const match = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*([A-Za-z]{1,20})\b/.exec(text);
  return match?.[1]?.toUpperCase() ?? 'OTHER';
}

/**
 * Starts a CLIENT span for database work, but only inside an existing trace: background jobs
 * polling every second would otherwise fill the trace store with one-span traces.
 */
function startDbSpan(name: string, operation: string, schema: string): Span | undefined {
  const parent = trace.getSpan(context.active());
  if (!parent?.isRecording()) return undefined;
  return trace.getTracer(PERSISTENCE_TRACER).startSpan(name, {
    kind: SpanKind.CLIENT,
    attributes: {
      'db.system': 'postgresql',
      'db.system.name': 'postgresql',
      'db.operation': operation,
      'db.operation.name': operation,
      'db.namespace': schema,
    },
  });
}

function endDbSpan(span: Span | undefined, error?: unknown): void {
  if (!span) return;
  if (error !== undefined) {
    // The pg error code (23505…), a Node errno (ECONNREFUSED) or the class name: a driver message may quote row values.
    const errno = (error as { code?: unknown } | null)?.code;
    const code =
      pgErrorCode(error) ??
      (typeof errno === 'string' ? errno : error instanceof Error ? error.name : 'unknown');
    span.setAttribute('error.type', code);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

class RunnerSql implements Sql {
  constructor(
    private readonly runner: QueryRunner,
    private readonly schema: string,
  ) {}
  async query<T>(text: string, params?: unknown[], options?: QueryOptions): Promise<QueryRows<T>> {
    const span = startDbSpan('db.query', sqlOperation(text), this.schema);
    try {
      if (options?.name) {
        const client = (await this.runner.connect()) as PgClient;
        const result = await client.query({ name: options.name, text, values: params ?? [] });
        endDbSpan(span);
        return { rows: result.rows as T[], rowCount: result.rowCount ?? result.rows.length };
      }
      const result = await this.runner.query(text, params, true);
      const records = (Array.isArray(result.records) ? result.records : []) as T[];
      endDbSpan(span);
      return {
        rows: records,
        rowCount: typeof result.affected === 'number' ? result.affected : records.length,
      };
    } catch (error) {
      endDbSpan(span, error);
      throw error;
    }
  }
}

/**
 * A service's connection pool, on TypeORM's DataSource (pg driver). Repositories write SQL
 * through `query`/`transaction`; `synchronize` is never used: migrations own the schema.
 */
export class Database implements Sql {
  private constructor(
    readonly dataSource: DataSource,
    readonly schema: string,
  ) {}

  static async connect(options: DatabaseOptions): Promise<Database> {
    // Spliced into the connection's startup options: only Postgres's own values pass.
    if (options.planCacheMode && !PLAN_CACHE_MODES.has(options.planCacheMode))
      throw new Error(`invalid plan_cache_mode "${String(options.planCacheMode)}"`);
    const dataSource = new DataSource({
      type: 'postgres',
      url: options.url,
      schema: options.schema,
      synchronize: false,
      migrationsRun: false,
      logging: false,
      applicationName: options.applicationName,
      poolSize: options.poolSize ?? 10,
      connectTimeoutMS: options.connectTimeoutMs ?? 3_000,
      extra: {
        options: `-c search_path=${options.schema},public${
          options.statementTimeoutMs ? ` -c statement_timeout=${options.statementTimeoutMs}` : ''
        }${options.planCacheMode ? ` -c plan_cache_mode=${options.planCacheMode}` : ''}`,
        connectionTimeoutMillis: options.connectTimeoutMs ?? 3_000,
      },
    });
    try {
      await dataSource.initialize();
    } catch (error) {
      mapDatabaseError(error);
    }
    return new Database(dataSource, options.schema);
  }

  async query<T = Record<string, unknown>>(
    text: string,
    params?: unknown[],
    options?: QueryOptions,
  ): Promise<QueryRows<T>> {
    const runner = this.dataSource.createQueryRunner();
    try {
      return await new RunnerSql(runner, this.schema).query<T>(text, params, options);
    } catch (error) {
      return mapDatabaseError(error);
    } finally {
      await runner.release();
    }
  }

  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    // One span for the whole transaction (BEGIN … COMMIT); its statements are its children.
    const span = startDbSpan('db.transaction', 'TRANSACTION', this.schema);
    if (!span) return this.runTransaction(work);
    return context.with(trace.setSpan(context.active(), span), async () => {
      try {
        const result = await this.runTransaction(work);
        endDbSpan(span);
        return result;
      } catch (error) {
        endDbSpan(span, error);
        throw error;
      }
    });
  }

  private async runTransaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction();
    } catch (error) {
      await runner.release().catch(() => undefined);
      return mapDatabaseError(error);
    }
    try {
      const result = await work(new RunnerSql(runner, this.schema));
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      return mapDatabaseError(error);
    } finally {
      await runner.release().catch(() => undefined);
    }
  }

  /**
   * Runs `work` only if this replica wins the session-level advisory lock `key`; other replicas
   * skip. Background jobs use this so exactly one replica runs each at a time.
   */
  async withAdvisoryLock<T>(
    key: string,
    work: (tx: Sql) => Promise<T>,
  ): Promise<{ ran: boolean; result?: T }> {
    return this.transaction(async (tx) => {
      const { rows } = await tx.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked',
        [key],
      );
      if (!rows[0]?.locked) return { ran: false };
      return { ran: true, result: await work(tx) };
    });
  }

  /** Readiness probe: a round trip to the server. */
  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
