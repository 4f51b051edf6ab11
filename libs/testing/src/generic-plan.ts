/** What genericPlanOnEmptyTables needs of a database: a transaction on one connection. */
export interface PlanProbeDatabase {
  transaction<T>(
    work: (tx: { query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }> }) => Promise<T>,
  ): Promise<T>;
}

/**
 * The generic plan Postgres would cache for `statement` (a named statement's plan after its first
 * executions) while `tables` of `schema` are empty and have never been analysed: the state of a
 * fresh deployment, and of a growing table until autovacuum analyses it. A plan made then stays
 * cached on a pooled connection while the table grows, so a statement whose plan scans the whole
 * table here keeps doing so later.
 *
 * The tables are copied empty (`LIKE … INCLUDING ALL`) into a scratch schema inside a
 * transaction nobody else sees, so autovacuum cannot analyse them meanwhile, and the statement
 * (every parameter NULL: a generic plan does not look at them) is explained against the copies.
 * Returns the plan as text, its table names those of `schema`.
 */
export async function genericPlanOnEmptyTables(
  db: PlanProbeDatabase,
  statement: string,
  options: { schema: string; tables: string[] },
): Promise<string> {
  const probe = `plan_probe_${Math.random().toString(36).slice(2, 12)}`;
  const params = Math.max(0, ...[...statement.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  return db.transaction(async (tx) => {
    await tx.query(`CREATE SCHEMA ${probe}`);
    for (const table of options.tables)
      await tx.query(`CREATE TABLE ${probe}.${table} (LIKE ${options.schema}.${table} INCLUDING ALL)`);
    await tx.query(`SET LOCAL plan_cache_mode = force_generic_plan`);
    await tx.query(`PREPARE ${probe} AS ${statement.replaceAll(`${options.schema}.`, `${probe}.`)}`);
    const { rows } = await tx.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN EXECUTE ${probe}(${Array.from({ length: params }, () => 'NULL').join(', ')})`,
    );
    await tx.query(`DEALLOCATE ${probe}`);
    await tx.query(`DROP SCHEMA ${probe} CASCADE`);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

/** A statement a recording database ran. */
export interface RecordedQuery {
  text: string;
  params: unknown[];
}

/**
 * `db` with every statement it runs appended to `into`, the call otherwise unchanged (named
 * statements included): what a repository really runs, to explain with genericPlanOnEmptyTables
 * or EXPLAIN, or to count.
 */
export function recordingQueries<D extends object>(db: D, into: RecordedQuery[]): D {
  return new Proxy(db, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== 'query' || typeof value !== 'function') return value;
      return (text: string, params: unknown[] = [], ...rest: unknown[]) => {
        into.push({ text, params });
        return (value as (...args: unknown[]) => unknown).call(target, text, params, ...rest);
      };
    },
  });
}
