/** The outcome of taking from a bucket: admitted, or refused with how long until it would be. */
export type RateDecision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** Milliseconds until the tokens asked for are there (at least 1). */
      readonly retryAfterMs: number;
      /** The same wait in whole seconds, rounded up (at least 1): what a `Retry-After` header says. */
      readonly retryAfterSec: number;
    };

export interface TokenBucketOptions {
  /** Tokens added per second. */
  readonly perSecond: number;
  /** Tokens a bucket holds at most, and starts with. */
  readonly burst: number;
  /** At most this many keys are tracked; a new key past it drops the oldest bucket. Default 100,000. */
  readonly maxKeys?: number;
  readonly now?: () => number;
}

/**
 * Token buckets per key (a client address, a token subject, a sender's agent id): `burst` tokens,
 * refilled at `perSecond`. In memory, per replica: N replicas admit up to N× the rate — the limit
 * protects a process and what is behind it from one runaway caller, it is not a quota (a shared
 * limiter would be a round trip on every request). Buckets idle long enough to be full again carry no
 * information and are dropped, and the number of keys is capped, so memory follows the active callers.
 */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedMs: number }>();
  private readonly now: () => number;
  private readonly maxKeys: number;
  private lastSweepMs: number;

  constructor(private readonly options: TokenBucketOptions) {
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.lastSweepMs = this.now();
  }

  /** Takes `cost` tokens from the key's bucket if it has them. */
  take(key: string, cost = 1): RateDecision {
    const { burst, perSecond } = this.options;
    const now = this.now();
    this.sweep(now);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      bucket = { tokens: burst, updatedMs: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * perSecond);
      bucket.updatedMs = now;
    }
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { allowed: true };
    }
    const waitSec = (cost - bucket.tokens) / perSecond;
    return {
      allowed: false,
      retryAfterMs: Math.max(1, Math.ceil(waitSec * 1000)),
      retryAfterSec: Math.max(1, Math.ceil(waitSec)),
    };
  }

  /** How many keys have a bucket now. */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    const fullAfterMs = (this.options.burst / this.options.perSecond) * 1000;
    if (now - this.lastSweepMs < Math.max(10_000, fullAfterMs)) return;
    this.lastSweepMs = now;
    for (const [key, bucket] of this.buckets)
      if (now - bucket.updatedMs >= fullAfterMs) this.buckets.delete(key);
  }
}
