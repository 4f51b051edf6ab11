import { AppError, PrivacyBudgetWarning, type PrivacyBudgetWarningPayload } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';

/** Waits before each retry of a failed publish: about 20 s in all, well inside the 10 min duplicate window. */
export const BUDGET_WARNING_RETRY_MS: readonly number[] = [500, 2_000, 5_000, 12_000];

/**
 * Publishes budget warnings as `privacy.v1.budget-warning` on JetStream (stream `PRIVACY`), the
 * warning's id as `Nats-Msg-Id` (a repeat within the duplicate window is dropped). Off the request
 * path. The warning was claimed already (once per budget, subject and window across replicas), so
 * nothing publishes it later: a publish that fails retryably (NATS away, no ack in time) is tried
 * again under the same id — an attempt whose ack was lost is then dropped by the stream, so the mesh
 * router notifies the manager once (ADR 0016). One that still fails is logged (counts and names only).
 */
export function budgetWarningPublisher(
  bus: MessageBus | undefined,
  logger: Logger,
  retryMs: readonly number[] = BUDGET_WARNING_RETRY_MS,
): (warning: PrivacyBudgetWarningPayload) => void {
  return (warning) => {
    if (!bus) {
      logger.warn(
        { budget: warning.budget, per: warning.per, role: warning.role },
        'budget warning threshold crossed',
      );
      return;
    }
    void publishWithRetries(bus, warning, retryMs).catch((error: unknown) =>
      logger.warn(
        { budget: warning.budget, err: error instanceof Error ? error.name : 'unknown' },
        'budget warning not published',
      ),
    );
  };
}

async function publishWithRetries(
  bus: MessageBus,
  warning: PrivacyBudgetWarningPayload,
  retryMs: readonly number[],
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await bus.publish(PrivacyBudgetWarning, warning, { eventId: warning.eventId });
      return;
    } catch (error) {
      const retryable = !(error instanceof AppError) || error.retryable;
      const delay = retryMs[attempt];
      if (!retryable || delay === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
    }
  }
}
