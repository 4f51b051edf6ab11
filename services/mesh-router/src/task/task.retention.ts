import { processedEventsRetention } from '@orgmesh/messaging';
import type { RetentionTarget } from '@orgmesh/persistence';

export interface MeshRetention {
  /** Terminal tasks (every kind: tasks, approvals, notifications) that ended longer ago than this go. */
  tasksMs: number;
  idempotencyKeysMs: number;
  processedEventsMs: number;
}

/**
 * What the mesh router's retention job deletes, in this order (docs/operations.md):
 * - terminal tasks of every kind by the time they ended (`updated_at`: a terminal task is never
 *   written again), by `tasks_terminal_updated_idx`. Their history (`task_events`) and their
 *   idempotency records go in the same statement by ON DELETE CASCADE, so no history outlives its
 *   task and no task loses part of its history. Open tasks are never deleted: the deadline job ends
 *   each by its deadline, and only then does its retention start.
 * - idempotency records by age (`idempotency_keys_created_idx`): a retry after that long is a new request;
 * - the dedupe records of the schema's consumers (see MIN_PROCESSED_EVENTS_RETENTION_MS).
 */
export function meshRetentionTargets(retention: MeshRetention): RetentionTarget[] {
  return [
    {
      name: 'mesh.tasks',
      table: 'mesh.tasks',
      ageColumn: 'updated_at',
      // The predicate of the partial index, spelled the same so the planner matches it.
      where: `state IN ('completed','failed','canceled','rejected')`,
      maxAgeMs: retention.tasksMs,
    },
    {
      name: 'mesh.idempotency_keys',
      table: 'mesh.idempotency_keys',
      ageColumn: 'created_at',
      maxAgeMs: retention.idempotencyKeysMs,
    },
    processedEventsRetention('mesh', retention.processedEventsMs),
  ];
}
