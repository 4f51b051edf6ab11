import type { RetentionTarget } from '@orgmesh/persistence';

/** Counters older than the longest budget window (a month) decide nothing any more. */
const LONGEST_WINDOW_MS = 35 * 86_400_000;

/** What the proxy's hourly retention job deletes from its schema, and after how long. */
export function proxyRetentionTargets(usageRetentionMs: number): RetentionTarget[] {
  const bucketed = (table: string, maxAgeMs: number): RetentionTarget => ({
    name: `privacy_proxy.${table}`,
    table: `privacy_proxy.${table}`,
    ageColumn: 'bucket',
    maxAgeMs,
  });
  return [
    bucketed('llm_usage', usageRetentionMs),
    // Redaction counts are kept as long as the usage beside them.
    bucketed('redaction_counts', usageRetentionMs),
    bucketed('llm_counters', LONGEST_WINDOW_MS),
    {
      name: 'privacy_proxy.llm_budget_warnings',
      table: 'privacy_proxy.llm_budget_warnings',
      ageColumn: 'sent_at',
      maxAgeMs: LONGEST_WINDOW_MS,
    },
  ];
}
