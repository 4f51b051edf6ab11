/**
 * Runs the work given for one key one after the other, in submission order; different keys run
 * concurrently. Events for one session that reach this replica together then queue here, each
 * deciding on the row the previous one left (in the cache), instead of racing to the database
 * where all but one would miss the version guard and pay another round trip.
 */
export class PerKeyQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    // Tails never reject, so the next work runs whatever the previous one's outcome.
    const result = previous ? previous.then(work) : work();
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with work queued or running (a gauge for tests). */
  get busyKeys(): number {
    return this.tails.size;
  }
}
