/** Redelivery delays of a consumer after a retryable failure, indexed by delivery attempt. */
export const DEFAULT_BACKOFF_MS: readonly number[] = [100, 500, 2000, 5000];

/**
 * The nak delay after the `deliveryCount`-th delivery failed (1-based): the matching entry of
 * `backoffMs`, the last entry once attempts outnumber it, 0 for an empty list.
 */
export function nakDelayMs(deliveryCount: number, backoffMs: readonly number[] = DEFAULT_BACKOFF_MS): number {
  if (backoffMs.length === 0) return 0;
  const index = Math.min(Math.max(deliveryCount, 1), backoffMs.length) - 1;
  return Math.max(0, backoffMs[index] ?? 0);
}

/**
 * Exponential retry delay for infrastructure failures (NATS or Postgres away): base·2^(attempt-1),
 * capped, with up to 20 % jitter so replicas do not retry in lockstep. `attempt` is 1-based.
 */
export function retryDelayMs(
  attempt: number,
  options: { baseMs?: number; maxMs?: number; random?: () => number } = {},
): number {
  const base = options.baseMs ?? 100;
  const max = options.maxMs ?? 5_000;
  const exp = Math.min(max, base * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
  const jitter = 1 - 0.2 * (options.random ?? Math.random)();
  return Math.round(exp * jitter);
}
