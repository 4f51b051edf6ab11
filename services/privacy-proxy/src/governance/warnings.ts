import { PrivacyBudgetWarning, type PrivacyBudgetWarningPayload } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';

/**
 * Publishes budget warnings as `privacy.v1.budget-warning` on JetStream (stream `PRIVACY`), the
 * warning's id as `Nats-Msg-Id` (a repeat within the duplicate window is dropped). Off the request
 * path; a failed publish is logged (counts and names only) — the warning was claimed already, so it is
 * not sent again.
 */
export function budgetWarningPublisher(
  bus: MessageBus | undefined,
  logger: Logger,
): (warning: PrivacyBudgetWarningPayload) => void {
  return (warning) => {
    if (!bus) {
      logger.warn(
        { budget: warning.budget, per: warning.per, role: warning.role },
        'budget warning threshold crossed',
      );
      return;
    }
    bus
      .publish(PrivacyBudgetWarning, warning, { eventId: warning.eventId })
      .catch((error: unknown) =>
        logger.warn(
          { budget: warning.budget, err: error instanceof Error ? error.name : 'unknown' },
          'budget warning not published',
        ),
      );
  };
}
