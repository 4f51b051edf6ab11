import { AppError, type LlmBudget } from '@orgmesh/contracts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export function hourOf(t: number): number {
  return Math.floor(t / HOUR_MS) * HOUR_MS;
}

export function minuteOf(t: number): number {
  return Math.floor(t / MINUTE_MS) * MINUTE_MS;
}

const ROLLING_HOURS = { day: 24, week: 7 * 24, month: 30 * 24 } as const;

/**
 * The first hourly bucket a budget's window counts at `now`. Calendar windows are UTC: the day, the
 * ISO week from Monday, the month. Rolling windows are the last 24 hours, 7 or 30 days, by the hour
 * (the current hour counts whole).
 */
export function windowStart(budget: Pick<LlmBudget, 'window' | 'reset'>, now: number): number {
  if (budget.reset === 'rolling') return hourOf(now) - (ROLLING_HOURS[budget.window] - 1) * HOUR_MS;
  const d = new Date(now);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (budget.window === 'day') return midnight;
  if (budget.window === 'week') return midnight - ((d.getUTCDay() + 6) % 7) * DAY_MS;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** When an exhausted budget can admit calls again at the earliest: the next window (calendar) or the next hour (rolling). */
export function windowReopens(budget: Pick<LlmBudget, 'window' | 'reset'>, now: number): number {
  if (budget.reset === 'rolling') return hourOf(now) + HOUR_MS;
  const d = new Date(now);
  if (budget.window === 'day') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  if (budget.window === 'week') return windowStart(budget, now) + 7 * DAY_MS;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** How far back a key's hourly buckets matter (the longest window, a calendar month or 30 rolling days). */
export const LONGEST_WINDOW_MS = 31 * DAY_MS;

/**
 * The time range a read RPC asks for (`from`/`to` ISO timestamps, both optional): up to now, over
 * the 24 hours before `to` by default; `from` after `to` is refused naming the field.
 */
export function requestedRange(
  request: { readonly from?: string | undefined; readonly to?: string | undefined },
  now: () => number,
): { from: number; to: number } {
  const to = request.to ? Date.parse(request.to) : now();
  const from = request.from ? Date.parse(request.from) : to - 24 * HOUR_MS;
  if (from > to)
    throw new AppError('validation_failed', 'from must not be after to', {
      details: { issues: [{ path: 'from', message: 'after to' }] },
    });
  return { from, to };
}
