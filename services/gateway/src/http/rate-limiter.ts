/** The outcome of taking one token. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSec: number };

interface Bucket {
  tokens: number;
  updatedAtMs: number;
}

/**
 * A token bucket per client key: `burst` tokens, refilled at `ratePerSec`. Buckets idle long
 * enough to be full again are dropped, so memory follows the number of active clients. In-process:
 * each gateway replica limits on its own (documented; a shared limiter would be a NATS KV round trip
 * on every request).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweepMs: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {
    this.lastSweepMs = now();
  }

  take(key: string, cost = 1): RateDecision {
    const now = this.now();
    this.sweep(now);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.burst, updatedAtMs: now };
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(
        this.burst,
        bucket.tokens + ((now - bucket.updatedAtMs) / 1000) * this.ratePerSec,
      );
      bucket.updatedAtMs = now;
    }
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return { allowed: true };
    }
    return {
      allowed: false,
      retryAfterSec: Math.max(1, Math.ceil((cost - bucket.tokens) / this.ratePerSec)),
    };
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    const fullAfterMs = (this.burst / this.ratePerSec) * 1000;
    if (now - this.lastSweepMs < Math.max(fullAfterMs, 10_000)) return;
    this.lastSweepMs = now;
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.updatedAtMs >= fullAfterMs) this.buckets.delete(key);
    }
  }
}
