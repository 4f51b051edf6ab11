import { TASK_VISIBILITY, type TaskPartyField } from '@orgmesh/contracts';
import type { TaskListFilter } from './task.repository.types.js';

/**
 * How many matching tasks a count reads at most: the count of a large organisation's unfiltered
 * list would read every row, so it stops here (a total of this size means "at least").
 */
export const TASK_COUNT_CAP = 10_000;

/** The SELECT of one page of `list` (filters, visibility, keyset cursor), newest first. */
export function listTasksQuery(filter: TaskListFilter): { text: string; values: unknown[] } {
  const params = new Params();
  const p = (value: unknown): string => params.add(value);
  const where = conditions(filter, p);
  if (filter.cursor) {
    where.push(
      `(created_at, id) < (${p(filter.cursor.createdAt)}::timestamptz, ${p(filter.cursor.id)}::uuid)`,
    );
  }
  return {
    text: `SELECT * FROM mesh.tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT ${p(filter.limit)}`,
    values: params.values,
  };
}

/**
 * The count of every task the same filters and visibility match, whatever the page (no cursor),
 * up to TASK_COUNT_CAP rows read: the conditions are the page's, so it uses the page's indexes.
 */
export function countTasksQuery(filter: TaskListFilter): { text: string; values: unknown[] } {
  const params = new Params();
  const p = (value: unknown): string => params.add(value);
  const where = conditions(filter, p);
  return {
    text: `SELECT count(*)::int AS total FROM (SELECT 1 FROM mesh.tasks
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} LIMIT ${p(TASK_COUNT_CAP)}) matching`,
    values: params.values,
  };
}

/** The WHERE conditions of a list's filters and visibility (not its cursor). */
function conditions(filter: TaskListFilter, p: (value: unknown) => string): string[] {
  const where: string[] = [];
  if (filter.state) where.push(`state = ${p(filter.state)}`);
  if (filter.kind) where.push(`kind = ${p(filter.kind)}`);
  if (filter.contextId) where.push(`context_id = ${p(filter.contextId)}`);
  if (filter.role) {
    const role = p(filter.role);
    where.push(
      directed(
        filter.direction,
        `(to_role = ${role} OR (escalated_to->>'role') = ${role})`,
        `from_role = ${role}`,
      ),
    );
  }
  if (filter.agentId) {
    const agent = p(filter.agentId);
    where.push(
      directed(
        filter.direction,
        `(to_agent_id = ${agent} OR assignee_agent_id = ${agent})`,
        `from_agent_id = ${agent}`,
      ),
    );
  }
  if (filter.updatedAfter) where.push(`updated_at >= ${p(filter.updatedAfter)}::timestamptz`);
  if (filter.visibleTo) {
    const observer = { agentId: p(filter.visibleTo.agentId), role: p(filter.visibleTo.role) };
    where.push(visibilitySql(observer));
  }
  return where;
}

/** Positional parameters of one statement. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** The column (or JSON path) of each party field of the visibility rule; every field needs one. */
const PARTY_COLUMNS: Record<TaskPartyField, string> = {
  'from.agentId': 'from_agent_id',
  'assignee.agentId': 'assignee_agent_id',
  'to.agentId': 'to_agent_id',
  'to.role': 'to_role',
  'escalatedTo.role': "(escalated_to->>'role')",
  'escalatedTo.userId': "(escalated_to->>'userId')",
};

/**
 * `TASK_VISIBILITY` (libs/contracts, the rule the gateway's event streams evaluate) translated
 * clause by clause into a WHERE condition; `observer` holds the placeholders of its agent id and role.
 */
export function visibilitySql(observer: { agentId: string; role: string }): string {
  const clauses = TASK_VISIBILITY.map((clause) =>
    clause
      .map((condition) =>
        'isNull' in condition
          ? `${PARTY_COLUMNS[condition.field]} IS NULL`
          : `${PARTY_COLUMNS[condition.field]} = ${observer[condition.equals]}`,
      )
      .join(' AND '),
  );
  return `(${clauses.map((c) => `(${c})`).join(' OR ')})`;
}

/** The condition of a role or agent filter in one direction: received, sent, or either. */
function directed(direction: TaskListFilter['direction'], inbound: string, outbound: string): string {
  if (direction === 'inbound') return inbound;
  if (direction === 'outbound') return outbound;
  return `(${inbound} OR ${outbound})`;
}
