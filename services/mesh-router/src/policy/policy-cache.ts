/**
 * A TTL cache with in-flight de-duplication and a generation counter: `clear()` bumps the
 * generation, so an answer fetched before an invalidation is returned to its caller but never
 * stored (it may already be stale).
 */
export class PolicyCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number }>();
  private readonly pending = new Map<string, Promise<V>>();
  private generation = 0;

  constructor(private readonly options: { ttlMs: number; maxEntries?: number; now?: () => number }) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.options.now?.() ?? Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAtMs > now) return hit.value;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const generation = this.generation;
    const promise = load().then(
      (value) => {
        if (this.pending.get(key) === promise) this.pending.delete(key);
        if (generation === this.generation) this.store(key, value);
        return value;
      },
      (error: unknown) => {
        if (this.pending.get(key) === promise) this.pending.delete(key);
        throw error;
      },
    );
    this.pending.set(key, promise);
    return promise;
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.pending.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private store(key: string, value: V): void {
    const max = this.options.maxEntries ?? 10_000;
    if (this.entries.size >= max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value, expiresAtMs: (this.options.now?.() ?? Date.now()) + this.options.ttlMs });
  }
}
