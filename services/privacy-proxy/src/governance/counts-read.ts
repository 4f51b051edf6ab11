import type { TokenVerifier } from '../auth/token-verifier.js';
import { requestedRange } from './windows.js';

/** What a read RPC of counts (usage, redaction counts) needs besides the store it reads. */
export interface CountsReadDeps<Recorder extends { flush(): Promise<void> }> {
  /** This replica's counts not yet written: flushed before each read. */
  readonly recorder?: Recorder;
  /** The forwarded token is verified by the answer, as every service does for itself. */
  readonly verifier: TokenVerifier;
  readonly now?: () => number;
}

/** One page of counts and the range it was read over, as a read RPC answers them. */
export interface CountsPage<Row> {
  readonly rows: readonly Row[];
  /** More rows matched than the request's limit. */
  readonly truncated: boolean;
  /** The range read, ISO timestamps. */
  readonly from: string;
  readonly to: string;
}

/**
 * One page of the counts a read RPC answers, over the requested range (`from`/`to`, the 24 hours up
 * to now by default). This replica's counts are written first, so a caller reads what it just
 * caused; other replicas' reach Postgres within a second. One row more than the limit is read to
 * tell whether the answer is truncated.
 */
export async function readCounts<Row>(
  deps: Pick<CountsReadDeps<{ flush(): Promise<void> }>, 'recorder' | 'now'>,
  request: { readonly from?: string | undefined; readonly to?: string | undefined; readonly limit: number },
  query: (range: { from: number; to: number }, limit: number) => Promise<readonly Row[]>,
): Promise<CountsPage<Row>> {
  const { from, to } = requestedRange(request, deps.now ?? Date.now);
  await deps.recorder?.flush();
  const found = await query({ from, to }, request.limit + 1);
  return {
    rows: found.slice(0, request.limit),
    truncated: found.length > request.limit,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
  };
}

/** The sum of each of `fields` over `rows` (0 when there are none), added in the rows' order. */
export function totalsOf<K extends string>(
  rows: ReadonlyArray<Readonly<Record<K, number>>>,
  fields: readonly K[],
): Record<K, number> {
  const totals = Object.fromEntries(fields.map((field) => [field, 0])) as Record<K, number>;
  for (const row of rows) for (const field of fields) totals[field] += row[field];
  return totals;
}
