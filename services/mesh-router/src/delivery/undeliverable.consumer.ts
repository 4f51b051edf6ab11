import { AppError, InboxDelivery } from '@orgmesh/contracts';
import { DLQ_HEADERS, type ConsumerHandle, type MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';
import type { TaskService } from '../task/task.service.js';
import type { TaskMetrics } from '../task/task.metrics.js';

export const UNDELIVERABLE_DURABLE = 'mesh-router--dlq-mesh-v1-inbox';
export const INBOX_DEAD_LETTERS = 'dlq.mesh.v1.inbox.>';

/**
 * How "after max deliveries the task fails as undeliverable" is detected. Inbox consumers (the
 * SDK, the test agent) count deliveries themselves and dead-letter a delivery that exhausted
 * them to `dlq.mesh.v1.inbox.<role>` (libs/messaging); the server's max-deliveries advisory never
 * fires because consumers run with server-side max_deliver = -1. The router consumes those dead
 * letters durably and fails the task, so the outcome is recorded even if the router was down when
 * the delivery gave up.
 */
export async function startUndeliverableWatcher(deps: {
  bus: MessageBus;
  service: TaskService;
  metrics: TaskMetrics;
  logger: Logger;
}): Promise<ConsumerHandle> {
  await deps.bus.ensureDeadLetterStream();
  return deps.bus.consume(
    InboxDelivery,
    UNDELIVERABLE_DURABLE,
    async (task, ctx) => {
      try {
        if (await deps.service.markUndeliverable(task.id)) {
          deps.metrics.undeliverable.inc();
          deps.logger.warn(
            {
              taskId: task.id,
              reason: ctx.headers[DLQ_HEADERS.reason],
              deliveries: ctx.headers[DLQ_HEADERS.deliveryCount],
            },
            'task undeliverable',
          );
        }
      } catch (error) {
        // A dead letter of another deployment sharing the namespace, or a task already purged.
        if (error instanceof AppError && error.code === 'task_not_found') return;
        throw error;
      }
    },
    { subject: INBOX_DEAD_LETTERS, maxDeliver: 20 },
  );
}
