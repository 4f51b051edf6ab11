import type { ApprovalDecision, ApprovalStep, PersonDecision } from '@orgmesh/contracts';
import type { Database, Sql } from '@orgmesh/persistence';
import type { TaskRow } from '../task/task.entity.js';

export type RouteStatus = 'open' | 'decided' | 'ended';

/** How a route ended: the decision the task gets (or got), by whom. */
export interface RouteOutcome {
  decision: ApprovalDecision;
  comment: string | null;
  by: { userId: string; role: string };
}

export interface ApprovalRoute {
  taskId: string;
  rule: string;
  steps: ApprovalStep[];
  step: number;
  stepDeadline: Date;
  status: RouteStatus;
  outcome: RouteOutcome | null;
}

interface RouteRow {
  task_id: string;
  rule: string;
  steps: ApprovalStep[];
  step: number;
  step_deadline: Date;
  status: RouteStatus;
  outcome: RouteOutcome | null;
}

export interface DelegationRow {
  id: string;
  from_user: string;
  to_user: string;
  starts_at: Date;
  ends_at: Date;
}

interface DecisionRow {
  task_id: string;
  user_id: string;
  on_behalf_of: string | null;
  step: number;
  decision: ApprovalDecision;
  comment: string | null;
  rule: string;
  decided_at: Date;
}

const toRoute = (r: RouteRow): ApprovalRoute => ({
  taskId: r.task_id,
  rule: r.rule,
  steps: r.steps,
  step: r.step,
  stepDeadline: r.step_deadline,
  status: r.status,
  outcome: r.outcome,
});

export const toDecision = (r: DecisionRow): PersonDecision => ({
  userId: r.user_id,
  onBehalfOf: r.on_behalf_of,
  step: r.step,
  decision: r.decision,
  comment: r.comment,
  rule: r.rule,
  decidedAt: r.decided_at.toISOString(),
});

/** `mesh.approval_routes`, `approval_decisions`, `approval_delegations` (migration 1738000000000). */
export class ApprovalRepository {
  constructor(private readonly db: Database) {}

  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  async insertRoute(route: Omit<ApprovalRoute, 'outcome'>, now: Date, sql: Sql = this.db): Promise<void> {
    await sql.query(
      `INSERT INTO mesh.approval_routes (task_id, rule, steps, step, step_deadline, status, created_at, updated_at)
       VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $7) ON CONFLICT (task_id) DO NOTHING`,
      [
        route.taskId,
        route.rule,
        JSON.stringify(route.steps),
        route.step,
        route.stepDeadline,
        route.status,
        now,
      ],
    );
  }

  async route(taskId: string, sql: Sql = this.db, forUpdate = false): Promise<ApprovalRoute | undefined> {
    const { rows } = await sql.query<RouteRow>(
      `SELECT * FROM mesh.approval_routes WHERE task_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [taskId],
    );
    return rows[0] ? toRoute(rows[0]) : undefined;
  }

  async updateRoute(
    sql: Sql,
    taskId: string,
    change: {
      steps?: ApprovalStep[];
      step?: number;
      stepDeadline?: Date;
      status?: RouteStatus;
      outcome?: RouteOutcome;
    },
    now: Date,
  ): Promise<void> {
    await sql.query(
      `UPDATE mesh.approval_routes SET
         steps = COALESCE($2::jsonb, steps), step = COALESCE($3, step),
         step_deadline = COALESCE($4, step_deadline), status = COALESCE($5, status),
         outcome = COALESCE($6::jsonb, outcome), updated_at = $7
       WHERE task_id = $1`,
      [
        taskId,
        change.steps ? JSON.stringify(change.steps) : null,
        change.step ?? null,
        change.stepDeadline ?? null,
        change.status ?? null,
        change.outcome ? JSON.stringify(change.outcome) : null,
        now,
      ],
    );
  }

  /** An agent decided while its step was waiting: the route ends with the task. No-op without a route. */
  async endOpen(taskId: string, now: Date): Promise<void> {
    await this.db.query(
      `UPDATE mesh.approval_routes SET status = 'ended', updated_at = $2 WHERE task_id = $1 AND status = 'open'`,
      [taskId, now],
    );
  }

  async decisionsByTask(taskIds: string[], sql: Sql = this.db): Promise<Map<string, PersonDecision[]>> {
    const { rows } = await sql.query<DecisionRow>(
      `SELECT * FROM mesh.approval_decisions WHERE task_id = ANY($1::uuid[]) ORDER BY decided_at, user_id`,
      [taskIds],
    );
    const byTask = new Map<string, PersonDecision[]>();
    for (const row of rows) byTask.set(row.task_id, [...(byTask.get(row.task_id) ?? []), toDecision(row)]);
    return byTask;
  }

  async insertDecision(sql: Sql, taskId: string, decision: PersonDecision): Promise<void> {
    await sql.query(
      `INSERT INTO mesh.approval_decisions (task_id, user_id, on_behalf_of, step, decision, comment, rule, decided_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        taskId,
        decision.userId,
        decision.onBehalfOf,
        decision.step,
        decision.decision,
        decision.comment,
        decision.rule,
        decision.decidedAt,
      ],
    );
  }

  /** Routes the deadline sweep must move: a waiting step past its deadline, or a decision not yet applied to its task. */
  async due(now: Date, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ task_id: string }>(
      `SELECT task_id FROM mesh.approval_routes
        WHERE status IN ('open', 'decided') AND (status = 'decided' OR step_deadline <= $1)
        ORDER BY step_deadline LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => r.task_id);
  }

  /**
   * Open routes whose waiting step names one of these people, oldest deadline first (ties by task
   * id), after `after` when paging: a keyset on `approval_routes_open_keyset_idx`, no OFFSET.
   */
  async awaiting(
    userIds: string[],
    limit: number,
    after?: { at: string; taskId: string },
  ): Promise<Array<{ route: ApprovalRoute; task: TaskRow }>> {
    const { rows } = await this.db.query<RouteRow & { task: TaskRow }>(
      `SELECT r.*, row_to_json(t) AS task
         FROM mesh.approval_routes r JOIN mesh.tasks t ON t.id = r.task_id
        WHERE r.status = 'open'
          ${after ? 'AND (r.step_deadline, r.task_id) > ($3::timestamptz, $4::uuid)' : ''}
          -- A task canceled or expired meanwhile waits for nobody (the sweep ends its route later).
          AND t.state NOT IN ('completed', 'failed', 'canceled', 'rejected')
          AND EXISTS (
            SELECT 1 FROM jsonb_array_elements(r.steps -> r.step -> 'approvers') a
             WHERE a ->> 'userId' = ANY($1::text[])
               AND (r.steps -> r.step ->> 'kind') = 'people'
               AND NOT EXISTS (
                 SELECT 1 FROM mesh.approval_decisions d
                  WHERE d.task_id = r.task_id AND COALESCE(d.on_behalf_of, d.user_id) = a ->> 'userId'))
        ORDER BY r.step_deadline, r.task_id LIMIT $2`,
      after ? [userIds, limit, after.at, after.taskId] : [userIds, limit],
    );
    return rows.map((r) => ({ route: toRoute(r), task: reviveTask(r.task) }));
  }

  /**
   * Routes this person decided, newest decision first (ties by task id), before `before` when
   * paging: a keyset on `approval_decisions_user_keyset_idx`, no OFFSET. `decidedAt` is the cursor's.
   */
  async decidedBy(
    userId: string,
    limit: number,
    before?: { at: string; taskId: string },
  ): Promise<Array<{ route: ApprovalRoute; task: TaskRow; decidedAt: Date }>> {
    const { rows } = await this.db.query<RouteRow & { task: TaskRow; my_decided_at: Date }>(
      `SELECT r.*, row_to_json(t) AS task, d.decided_at AS my_decided_at
         FROM mesh.approval_decisions d
         JOIN mesh.approval_routes r ON r.task_id = d.task_id
         JOIN mesh.tasks t ON t.id = d.task_id
        WHERE d.user_id = $1
          ${before ? 'AND (d.decided_at, d.task_id) < ($3::timestamptz, $4::uuid)' : ''}
        ORDER BY d.decided_at DESC, d.task_id DESC LIMIT $2`,
      before ? [userId, limit, before.at, before.taskId] : [userId, limit],
    );
    return rows.map((r) => ({ route: toRoute(r), task: reviveTask(r.task), decidedAt: r.my_decided_at }));
  }

  /**
   * Which of these tasks a person may follow on the event stream (issue 23): routes that name them
   * in any step, that they decided or were decided for, or whose waiting people step names someone
   * who delegated to them now. Tasks without a route are nobody's (agents decide them).
   */
  async visibleTo(userId: string, taskIds: string[], now: Date): Promise<string[]> {
    const { rows } = await this.db.query<{ task_id: string }>(
      `SELECT r.task_id FROM mesh.approval_routes r
        WHERE r.task_id = ANY($1::uuid[])
          AND (
            EXISTS (
              SELECT 1 FROM jsonb_array_elements(r.steps) s, jsonb_array_elements(s -> 'approvers') a
               WHERE a ->> 'userId' = $2)
            OR EXISTS (
              SELECT 1 FROM mesh.approval_decisions d
               WHERE d.task_id = r.task_id AND (d.user_id = $2 OR d.on_behalf_of = $2))
            OR (r.status = 'open' AND (r.steps -> r.step ->> 'kind') = 'people' AND EXISTS (
              SELECT 1 FROM jsonb_array_elements(r.steps -> r.step -> 'approvers') a
                JOIN mesh.approval_delegations g ON g.from_user = a ->> 'userId'
               WHERE g.to_user = $2 AND g.starts_at <= $3 AND g.ends_at > $3)))`,
      [taskIds, userId, now],
    );
    return rows.map((r) => r.task_id);
  }

  async insertDelegation(d: {
    id: string;
    from: string;
    to: string;
    startsAt: Date;
    endsAt: Date;
    now: Date;
  }): Promise<void> {
    await this.db.query(
      `INSERT INTO mesh.approval_delegations (id, from_user, to_user, starts_at, ends_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [d.id, d.from, d.to, d.startsAt, d.endsAt, d.now],
    );
  }

  /** A person's delegations not yet ended, given and received, soonest end first. */
  async delegationsOf(userId: string, now: Date): Promise<DelegationRow[]> {
    const { rows } = await this.db.query<DelegationRow>(
      `SELECT * FROM mesh.approval_delegations
        WHERE (from_user = $1 OR to_user = $1) AND ends_at > $2 ORDER BY ends_at, id`,
      [userId, now],
    );
    return rows;
  }

  /** Ends a delegation its giver revokes (now, unless it ended already); undefined when it is not theirs. */
  async revokeDelegation(id: string, fromUser: string, now: Date): Promise<DelegationRow | undefined> {
    const { rows } = await this.db.query<DelegationRow>(
      `UPDATE mesh.approval_delegations SET ends_at = LEAST(ends_at, GREATEST(starts_at, $3::timestamptz))
        WHERE id = $1 AND from_user = $2 RETURNING *`,
      [id, fromUser, now],
    );
    return rows[0];
  }

  /** The people who delegated their approvals to this person, in force now. */
  async delegatorsOf(userId: string, now: Date, sql: Sql = this.db): Promise<string[]> {
    const { rows } = await sql.query<{ from_user: string }>(
      `SELECT DISTINCT from_user FROM mesh.approval_delegations
        WHERE to_user = $1 AND starts_at <= $2 AND ends_at > $2`,
      [userId, now],
    );
    return rows.map((r) => r.from_user);
  }
}

/** row_to_json gives timestamps as strings: the task mapper expects Dates where pg would give them. */
function reviveTask(raw: TaskRow): TaskRow {
  const dates = ['deadline', 'escalate_at', 'escalated_at', 'created_at', 'updated_at'] as const;
  const row = { ...raw } as unknown as Record<string, unknown>;
  for (const key of dates) if (typeof row[key] === 'string') row[key] = new Date(row[key]);
  return row as unknown as TaskRow;
}
