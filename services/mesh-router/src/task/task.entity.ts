import type {
  TaskDecision,
  TaskEscalation,
  TaskHistoryEvent,
  TaskKind,
  TaskPriority,
  TaskState,
} from '@orgmesh/contracts';

/** A row of mesh.tasks as the pg driver returns it. Never leaves the service: see task.mapper.ts. */
export interface TaskRow {
  id: string;
  kind: TaskKind;
  from_agent_id: string;
  from_role: string;
  to_role: string;
  to_agent_id: string | null;
  assignee_agent_id: string | null;
  assignee_role: string | null;
  type: string | null;
  subject: string | null;
  input: unknown;
  details: unknown;
  message: string | null;
  priority: TaskPriority;
  state: TaskState;
  reason: string | null;
  context_id: string;
  deadline: Date;
  escalate_at: Date | null;
  result: unknown;
  decision: TaskDecision | null;
  escalated_to: TaskEscalation | null;
  escalated_at: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface TaskEventRow {
  seq: string;
  task_id: string;
  event: TaskHistoryEvent;
  from_state: TaskState | null;
  to_state: TaskState;
  actor: string;
  reason: string | null;
  details: unknown;
  trace_id: string | null;
  occurred_at: Date;
}
