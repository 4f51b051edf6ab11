import { BudgetWarningNotificationDetails, type PrivacyBudgetWarningPayload } from '@orgmesh/contracts';

/** The manager a warning goes to, by id only: their user id and the role whose inbox gets it. */
export interface NotifiedManager {
  userId: string;
  role: string;
}

/** `used / limit` in percent, one decimal. */
export function percentUsed(warning: Pick<PrivacyBudgetWarningPayload, 'used' | 'limit'>): number {
  return Math.round((warning.used / warning.limit) * 1000) / 10;
}

/**
 * The notification's structured part (`Task.details`): the warning's ids, window and counts, the
 * percentage and the manager's ids. Built field by field from the event, so nothing the proxy adds
 * to the event later reaches an inbox unless it is named here.
 */
export function budgetWarningDetails(
  warning: PrivacyBudgetWarningPayload,
  manager: NotifiedManager,
): BudgetWarningNotificationDetails {
  return BudgetWarningNotificationDetails.parse({
    eventId: warning.eventId,
    tenant: warning.tenant,
    role: warning.role,
    ...(warning.agentId !== undefined ? { agentId: warning.agentId } : {}),
    ...(warning.profileId !== undefined ? { profileId: warning.profileId } : {}),
    budget: warning.budget,
    per: warning.per,
    window: warning.window,
    reset: warning.reset,
    windowStart: warning.windowStart,
    unit: warning.unit,
    limit: warning.limit,
    used: warning.used,
    warnAt: warning.warnAt,
    percentUsed: percentUsed(warning),
    manager: { userId: manager.userId, role: manager.role },
  });
}

function amount(value: number, unit: PrivacyBudgetWarningPayload['unit']): string {
  return unit === 'usd' ? `$${value}` : `${value} tokens`;
}

/** The notification's text (`Task.message`), one line an agent or a person reads in an inbox. */
export function budgetWarningMessage(warning: PrivacyBudgetWarningPayload): string {
  const who = warning.agentId ? `agent ${warning.agentId} (role ${warning.role})` : `role ${warning.role}`;
  return (
    `LLM budget "${warning.budget}" of ${who} is ${percentUsed(warning)}% used: ` +
    `${amount(warning.used, warning.unit)} of ${amount(warning.limit, warning.unit)} per ` +
    `${warning.reset} ${warning.window} (window from ${warning.windowStart}); ` +
    `the warning threshold is ${Math.round(warning.warnAt * 100)}%.`
  );
}
