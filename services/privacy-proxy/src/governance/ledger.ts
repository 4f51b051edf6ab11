import { AppError, type LlmBudget, type LlmGovernance, type LlmRateLimit } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';
import type { CounterDelta, CounterRow, CounterStore, Counts } from './counter-store.js';
import {
  HOUR_MS,
  LONGEST_WINDOW_MS,
  MINUTE_MS,
  hourOf,
  minuteOf,
  windowReopens,
  windowStart,
} from './windows.js';

/** Who a call is counted for. */
export interface LedgerSubject {
  readonly tenant: string;
  readonly agentId: string;
  readonly role: string;
  readonly profileId?: string;
}

/** What a call is expected to cost before it is made, and what it did cost. */
export interface CallAmount {
  readonly tokens: number;
  readonly costMicroUsd: number;
}

/** A warning threshold crossed (published as `privacy.v1.budget-warning`). */
export interface BudgetWarning {
  readonly id: string;
  readonly subject: LedgerSubject;
  readonly budget: LlmBudget;
  readonly windowStart: number;
  readonly used: number;
  readonly limit: number;
  readonly warnAt: number;
}

export interface LedgerOptions {
  readonly store: CounterStore;
  readonly logger: Logger;
  /** How often local deltas are written and other replicas' changes read; default 200 ms. */
  readonly syncIntervalMs?: number;
  /** Without a successful sync for this long the store counts as unreachable; default 3 s. */
  readonly staleAfterMs?: number;
  readonly now?: () => number;
  readonly onWarning?: (warning: BudgetWarning) => void;
  /** Told of each failed sync (metrics). */
  readonly onStoreError?: () => void;
}

/** Why a call was refused before it reached the provider. */
export type Refusal = 'budget' | 'rate_limit' | 'store_unavailable';

export class GovernanceRefusal extends AppError {
  constructor(
    readonly reason: Refusal,
    error: AppError,
    /** Seconds until a retry can succeed (the `Retry-After` header). */
    readonly retryAfterSeconds: number | undefined,
    /** A retry within the window cannot succeed: the SDKs are told not to retry (`x-should-retry: false`). */
    readonly final: boolean,
  ) {
    super(error.code, error.message, error.details ? { details: error.details } : {});
  }
}

interface KeyView {
  /** Buckets as the store last reported them. */
  readonly confirmed: Map<number, CounterRow>;
  /** This replica's deltas the store has not confirmed yet (queued or being written). */
  readonly local: Map<number, Counts>;
  loaded: boolean;
  loading?: Promise<void>;
  lastUsed: number;
}

const DEFAULT_WARN_AT = 0.8;
const ROLLING_LENGTH_MS = { day: 24 * HOUR_MS, week: 7 * 24 * HOUR_MS, month: 30 * 24 * HOUR_MS } as const;
/** Minute buckets older than this do not matter to a per-minute limit. */
const MINUTE_KEEP_MS = 3 * MINUTE_MS;
/** A view nobody used for this long (and with nothing unwritten) is dropped; its next use loads it again. */
const IDLE_VIEW_MS = 15 * MINUTE_MS;

function zero(): Counts {
  return { requests: 0, tokens: 0, costMicroUsd: 0 };
}

function addTo(target: Counts, delta: Counts, sign = 1): void {
  target.requests += sign * delta.requests;
  target.tokens += sign * delta.tokens;
  target.costMicroUsd += sign * delta.costMicroUsd;
}

/** A key part: `:` and `%` escaped, so that no tenant, agent or role id can make two keys one. */
function part(value: string): string {
  return /[:%]/.test(value) ? encodeURIComponent(value) : value;
}

export function agentKey(s: LedgerSubject): string {
  return `agent:${part(s.tenant)}:${part(s.agentId)}`;
}
export function roleKey(s: LedgerSubject): string {
  return `role:${part(s.tenant)}:${part(s.role)}`;
}
function rateKey(s: LedgerSubject, per: 'agent' | 'role'): string {
  return `rpm:${per === 'agent' ? agentKey(s) : roleKey(s)}`;
}

/** An admitted call's reservation; settled once with what the call really used. */
export interface Reservation {
  settle(actual: CallAmount): void;
}

/**
 * The budget and rate-limit counters as this replica sees them (ADR 0016): the shared store's rows,
 * plus this replica's deltas not yet written. A call is checked against this view in memory and its
 * estimate reserved at once; a background sync writes the deltas (one statement per interval) and
 * reads what other replicas wrote. Only the first call of a key on a replica waits for the store.
 */
export class BudgetLedger {
  private readonly views = new Map<string, KeyView>();
  private pending = new Map<string, CounterDelta>();
  private readonly warned = new Set<string>();
  private readonly now: () => number;
  private readonly syncIntervalMs: number;
  private readonly staleAfterMs: number;
  private lastSyncOk = -Infinity;
  /** Resolves at the first successful sync: a replica that just started waits for it, once. */
  private readonly firstSync: Promise<void>;
  private firstSynced!: () => void;
  private readFrom = 0;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: LedgerOptions) {
    this.now = options.now ?? Date.now;
    this.syncIntervalMs = options.syncIntervalMs ?? 200;
    this.staleAfterMs = options.staleAfterMs ?? 3_000;
    this.firstSync = new Promise((resolve) => (this.firstSynced = resolve));
  }

  /**
   * Whether the store has been read once, waiting up to `timeoutMs` for it (readiness, and a governed
   * call that arrives before a new replica's first sync: it waits rather than being refused).
   */
  async synced(timeoutMs: number): Promise<boolean> {
    if (this.lastSyncOk > -Infinity) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.firstSync,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    return this.lastSyncOk > -Infinity;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops syncing after writing what is queued (best effort). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.syncing;
    await this.sync().catch(() => undefined);
  }

  /** The store answered within the staleness bound. */
  storeHealthy(): boolean {
    // Real elapsed time, not the (possibly shifted) clock the windows are counted by.
    return performance.now() - this.lastSyncOk < this.staleAfterMs;
  }

  /** Writes queued deltas and reads other replicas' changes now (tests, shutdown). */
  syncNow(): Promise<void> {
    return this.sync();
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.syncing = this.sync()
        .catch(() => undefined)
        .finally(() => {
          this.syncing = undefined;
          this.schedule(this.syncIntervalMs);
        });
    }, delay);
    this.timer.unref();
  }

  private async sync(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    try {
      if (batch.size > 0) {
        const rows = await this.options.store.add([...batch.values()]);
        for (const row of rows) this.confirm(row);
        for (const delta of batch.values()) {
          const local = this.views.get(delta.key)?.local.get(delta.bucket);
          if (local) addTo(local, delta, -1);
        }
      }
      const changed = await this.options.store.changedSince(this.readFrom);
      for (const row of changed.rows) if (this.views.has(row.key)) this.confirm(row);
      this.readFrom = changed.until;
      this.lastSyncOk = performance.now();
      this.firstSynced();
      this.prune();
    } catch (error) {
      // Not written: queued again (before what came since), so nothing is lost while the store is down.
      for (const [id, delta] of batch) {
        const queued = this.pending.get(id);
        if (queued) addTo(queued, delta);
        else this.pending.set(id, delta);
      }
      this.options.onStoreError?.();
      this.options.logger.warn(
        { err: error instanceof Error ? error.name : 'unknown', queued: this.pending.size },
        'budget store sync failed',
      );
      throw error;
    }
  }

  private confirm(row: CounterRow): void {
    const view = this.view(row.key);
    const prior = view.confirmed.get(row.bucket);
    if (!prior || prior.updatedAt <= row.updatedAt) view.confirmed.set(row.bucket, row);
  }

  private prune(): void {
    const now = this.now();
    for (const [key, view] of this.views) {
      const keep = key.startsWith('rpm:') ? now - MINUTE_KEEP_MS : now - LONGEST_WINDOW_MS - HOUR_MS;
      for (const bucket of view.confirmed.keys()) if (bucket < keep) view.confirmed.delete(bucket);
      for (const [bucket, counts] of view.local)
        if (bucket < keep || (counts.requests === 0 && counts.tokens === 0 && counts.costMicroUsd === 0))
          view.local.delete(bucket);
      if (now - view.lastUsed > IDLE_VIEW_MS && view.local.size === 0 && !view.loading)
        this.views.delete(key);
    }
  }

  private view(key: string): KeyView {
    let view = this.views.get(key);
    if (!view) {
      view = { confirmed: new Map(), local: new Map(), loaded: false, lastUsed: this.now() };
      this.views.set(key, view);
    }
    return view;
  }

  /** Marks a key's view used now; true when its store rows are already loaded. */
  private touch(key: string): boolean {
    const view = this.view(key);
    view.lastUsed = this.now();
    return view.loaded;
  }

  /** The view with the store's rows loaded (one read on a replica's first sight of the key). */
  private async loaded(key: string): Promise<KeyView> {
    const view = this.view(key);
    view.lastUsed = this.now();
    if (view.loaded) return view;
    view.loading ??= (async () => {
      try {
        const since = key.startsWith('rpm:') ? this.now() - MINUTE_KEEP_MS : this.now() - LONGEST_WINDOW_MS;
        for (const row of await this.options.store.load(key, since)) this.confirm(row);
        view.loaded = true;
      } finally {
        view.loading = undefined;
      }
    })();
    await view.loading;
    return view;
  }

  /** Sum of a key's buckets from `from` on, the store's rows and this replica's unwritten deltas. */
  private sum(view: KeyView, from: number): Counts {
    const total = zero();
    for (const [bucket, row] of view.confirmed) if (bucket >= from) addTo(total, row);
    for (const [bucket, counts] of view.local) if (bucket >= from) addTo(total, counts);
    return total;
  }

  private record(key: string, bucket: number, delta: Counts): void {
    const view = this.view(key);
    const local = view.local.get(bucket);
    if (local) addTo(local, delta);
    else view.local.set(bucket, { ...delta });
    const id = `${key}\u0000${bucket}`;
    const queued = this.pending.get(id);
    if (queued) addTo(queued, delta);
    else this.pending.set(id, { key, bucket, ...delta });
  }

  /**
   * Admits a call or refuses it (GovernanceRefusal), and reserves its estimate. Usage is counted for
   * the agent and the role whatever the profile declares, so that a budget added later sees the
   * window's earlier calls. Checks, in order: the store reachable (when the profile limits anything),
   * the rate limits, the budgets.
   */
  async admit(
    subject: LedgerSubject,
    governance: LlmGovernance | undefined,
    estimate: CallAmount,
  ): Promise<Reservation> {
    const now = this.now();
    const budgets = governance?.budgets ?? [];
    const limits = governance?.rateLimits ?? [];
    const governed = budgets.length > 0 || limits.length > 0;
    const failOpen = governance?.onStoreUnavailable === 'allow';
    if (governed) {
      // A replica that just started has not read the store yet: wait for that once, not refuse.
      if (this.lastSyncOk === -Infinity) await this.synced(this.staleAfterMs);
      if (!this.storeHealthy() && !failOpen) throw storeUnavailable();
      const keys = new Set<string>();
      for (const b of budgets) keys.add(b.per === 'agent' ? agentKey(subject) : roleKey(subject));
      for (const l of limits) keys.add(rateKey(subject, l.per));
      // Read from the store only on a replica's first sight of a key; every later call stays synchronous.
      const unloaded = [...keys].filter((key) => !this.touch(key));
      if (unloaded.length > 0) {
        try {
          await Promise.all(unloaded.map((key) => this.loaded(key)));
        } catch (cause) {
          this.options.onStoreError?.();
          if (!failOpen) throw storeUnavailable(cause);
        }
      }
      for (const limit of limits) this.checkRate(subject, limit, estimate, now);
      for (const budget of budgets) this.checkBudget(subject, budget, now);
    }
    const hour = hourOf(now);
    const minute = minuteOf(now);
    const reserved = { requests: 1, tokens: estimate.tokens, costMicroUsd: estimate.costMicroUsd };
    const targets: Array<[string, number]> = [
      [agentKey(subject), hour],
      [roleKey(subject), hour],
    ];
    for (const per of new Set(limits.map((l) => l.per))) targets.push([rateKey(subject, per), minute]);
    for (const [key, bucket] of targets) this.record(key, bucket, reserved);
    let settled = false;
    return {
      settle: (actual) => {
        if (settled) return;
        settled = true;
        const delta = {
          requests: 0,
          tokens: actual.tokens - estimate.tokens,
          costMicroUsd: actual.costMicroUsd - estimate.costMicroUsd,
        };
        for (const [key, bucket] of targets) this.record(key, bucket, delta);
        this.checkWarnings(subject, budgets);
      },
    };
  }

  private checkRate(subject: LedgerSubject, limit: LlmRateLimit, estimate: CallAmount, now: number): void {
    const view = this.views.get(rateKey(subject, limit.per));
    const used = view ? this.sum(view, minuteOf(now)) : zero();
    const retryAfter = Math.max(1, Math.ceil((minuteOf(now) + MINUTE_MS - now) / 1000));
    const who = limit.per === 'agent' ? `agent ${subject.agentId}` : `role ${subject.role}`;
    const refusal = (unit: 'requests' | 'tokens', perMinute: number) =>
      new GovernanceRefusal(
        'rate_limit',
        new AppError(
          'rate_limited',
          `rate limit of ${who}: ${perMinute} ${unit} per minute (profile rate limit per ${limit.per}); retry in ${retryAfter} s`,
          { details: { rule: `rateLimits.${limit.per}.${unit}PerMinute`, limit: perMinute } },
        ),
        retryAfter,
        false,
      );
    if (limit.requestsPerMinute !== undefined && used.requests + 1 > limit.requestsPerMinute)
      throw refusal('requests', limit.requestsPerMinute);
    // A minute with nothing in it admits any one call, however large its estimate.
    if (
      limit.tokensPerMinute !== undefined &&
      used.tokens > 0 &&
      used.tokens + estimate.tokens > limit.tokensPerMinute
    )
      throw refusal('tokens', limit.tokensPerMinute);
  }

  /** The budget's usage in its current window (tokens, or dollars for a cost budget). */
  usedOf(subject: LedgerSubject, budget: LlmBudget, now = this.now()): number {
    const view = this.views.get(budget.per === 'agent' ? agentKey(subject) : roleKey(subject));
    if (!view) return 0;
    const used = this.sum(view, windowStart(budget, now));
    return budget.tokens !== undefined ? used.tokens : used.costMicroUsd / 1e6;
  }

  private checkBudget(subject: LedgerSubject, budget: LlmBudget, now: number): void {
    const limit = budget.tokens ?? budget.costUsd ?? 0;
    const used = this.usedOf(subject, budget, now);
    // Admitted while the window's usage (settled calls and reservations in flight) is below the limit.
    if (used < limit) return;
    const reopens = windowReopens(budget, now);
    const retryAfter = Math.max(1, Math.ceil((reopens - now) / 1000));
    const who = budget.per === 'agent' ? `agent ${subject.agentId}` : `role ${subject.role}`;
    const unit = budget.tokens !== undefined ? `${limit} tokens` : `$${limit}`;
    throw new GovernanceRefusal(
      'budget',
      new AppError(
        'rate_limited',
        `LLM budget "${budget.name}" of ${who} is exhausted: ${unit} per ${budget.reset} ${budget.window}` +
          ` used up; it reopens at ${new Date(reopens).toISOString()}`,
        {
          details: {
            rule: `budgets.${budget.name}`,
            budget: budget.name,
            per: budget.per,
            limit,
            used: Math.round(used * 1e6) / 1e6,
            reopensAt: new Date(reopens).toISOString(),
          },
        },
      ),
      retryAfter,
      true,
    );
  }

  private checkWarnings(subject: LedgerSubject, budgets: readonly LlmBudget[]): void {
    const now = this.now();
    for (const budget of budgets) {
      const limit = budget.tokens ?? budget.costUsd ?? 0;
      const warnAt = budget.warnAt ?? DEFAULT_WARN_AT;
      const used = this.usedOf(subject, budget, now);
      if (used < warnAt * limit) continue;
      // Calendar: once per window. Rolling: once per window length (its start moves every hour).
      const start =
        budget.reset === 'calendar'
          ? windowStart(budget, now)
          : Math.floor(now / ROLLING_LENGTH_MS[budget.window]) * ROLLING_LENGTH_MS[budget.window];
      const who = budget.per === 'agent' ? agentKey(subject) : roleKey(subject);
      const id = `${who}:${budget.name}:${new Date(start).toISOString()}`;
      if (this.warned.has(id)) continue;
      this.warned.add(id);
      const warning: BudgetWarning = { id, subject, budget, windowStart: start, used, limit, warnAt };
      void this.options.store.claimWarning(id).then(
        (mine) => {
          if (mine) this.options.onWarning?.(warning);
        },
        () => {
          // Not claimed (store down): the next call over the threshold tries again.
          this.warned.delete(id);
        },
      );
    }
    if (this.warned.size > 10_000) this.warned.clear();
  }
}

function storeUnavailable(cause?: unknown): GovernanceRefusal {
  return new GovernanceRefusal(
    'store_unavailable',
    new AppError(
      'unavailable',
      'the LLM budget store is unreachable and this profile limits LLM use: the call is refused until it is back (fail closed; a profile can set llm.onStoreUnavailable: allow)',
      cause ? { cause } : {},
    ),
    2,
    false,
  );
}
