export interface WriteBatcherOptions<I> {
  /** Most items written by one call of the batch function. */
  maxBatch?: number;
  /** Batches written at once; items submitted while all are busy wait and go together in the next. */
  maxInFlight?: number;
  /**
   * Items with the same key never share a batch (two changes of one row must be decided one after
   * the other); the later one waits for the next batch.
   */
  keyOf?: (item: I) => string;
}

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for a service's writes. On this kind of machine a commit costs little CPU in
 * Postgres but every round trip costs two socket writes, two wake-ups and a WAL flush, and those
 * dominate at a thousand writes a second. The batcher takes what callers submit while the previous
 * batches are still being written and writes it as ONE statement (the batch function's job), so
 * under load N callers pay one round trip and one flush instead of N; an idle service writes each
 * item at once, alone: there is no timer and no added latency.
 *
 * The batch function gets the items in submission order and returns one result per item, in the
 * same order. If it throws, every item of the batch gets the error: a batch function that can
 * isolate a bad item (a unique violation, say) should retry the items one by one itself.
 */
export class WriteBatcher<I, O> {
  private readonly queue: Array<Pending<I, O>> = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly options: WriteBatcherOptions<I> = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 64);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 2);
  }

  /** Resolves with this item's result once the batch holding it is written. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      // Items submitted in the same tick (replies to one burst of messages) leave together.
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.dispatch();
        });
      }
    });
  }

  /** Items waiting for a free slot (a gauge for metrics and tests). */
  get waiting(): number {
    return this.queue.length;
  }

  private dispatch(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight++;
      void this.run(batch);
    }
  }

  private take(): Array<Pending<I, O>> {
    const keyOf = this.options.keyOf;
    if (!keyOf) return this.queue.splice(0, this.maxBatch);
    const keys = new Set<string>();
    const batch: Array<Pending<I, O>> = [];
    const rest: Array<Pending<I, O>> = [];
    for (const pending of this.queue) {
      const key = keyOf(pending.item);
      if (batch.length < this.maxBatch && !keys.has(key)) {
        keys.add(key);
        batch.push(pending);
      } else rest.push(pending);
    }
    this.queue.length = 0;
    this.queue.push(...rest);
    return batch;
  }

  private async run(batch: Array<Pending<I, O>>): Promise<void> {
    try {
      const results = await this.write(batch.map((p) => p.item));
      if (results.length !== batch.length)
        throw new Error(`batch write returned ${results.length} results for ${batch.length} items`);
      batch.forEach((p, i) => p.resolve(results[i] as O));
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      this.inFlight--;
      this.dispatch();
    }
  }
}
