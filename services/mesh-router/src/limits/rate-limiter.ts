/**
 * Token buckets per key (the sender's agent id): `burst` tokens, refilled at `perSecond`.
 * In memory, per replica: N replicas admit up to N× the rate (documented; the limit protects a
 * replica and the database from one runaway agent, it is not a billing quota). Idle buckets are
 * dropped so the map does not grow with every agent ever seen.
 */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedMs: number }>();
  private lastSweepMs = 0;

  constructor(private readonly options: { perSecond: number; burst: number; now?: () => number }) {}

  /** Takes one token; returns 0 when admitted, else how many ms until a token is available. */
  take(key: string): number {
    const now = this.options.now?.() ?? Date.now();
    this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.options.burst, updatedMs: now };
    const refilled = Math.min(
      this.options.burst,
      bucket.tokens + ((now - bucket.updatedMs) / 1000) * this.options.perSecond,
    );
    if (refilled >= 1) {
      this.buckets.set(key, { tokens: refilled - 1, updatedMs: now });
      return 0;
    }
    this.buckets.set(key, { tokens: refilled, updatedMs: now });
    return Math.max(1, Math.ceil(((1 - refilled) / this.options.perSecond) * 1000));
  }

  private sweep(now: number): void {
    // A bucket full again carries no information: forget it.
    const fullAfterMs = (this.options.burst / this.options.perSecond) * 1000;
    if (now - this.lastSweepMs < Math.max(10_000, fullAfterMs)) return;
    this.lastSweepMs = now;
    for (const [key, bucket] of this.buckets)
      if (now - bucket.updatedMs >= fullAfterMs) this.buckets.delete(key);
  }
}

/** UTF-8 size of a value as JSON (what is stored and delivered); 0 for undefined. */
export function jsonSize(value: unknown): number {
  if (value === undefined) return 0;
  return Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
}
