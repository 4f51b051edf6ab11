import type { SessionRow } from './session.entity.js';

/**
 * The newest session rows this replica wrote or read, least recently used evicted first. A hint,
 * never the truth: a write decided on a cached row is guarded by its version, so a row that another
 * replica changed since only costs a guard miss and a read. Rows only move forward: an older
 * version never replaces a newer one (two writes of one session may finish out of order).
 */
export class SessionRowCache {
  private readonly rows = new Map<string, SessionRow>();

  constructor(private readonly capacity: number) {}

  get(id: string): SessionRow | undefined {
    const row = this.rows.get(id);
    if (row) this.touch(row);
    return row;
  }

  remember(row: SessionRow): void {
    if (this.capacity <= 0) return;
    const known = this.rows.get(row.id);
    if (known && known.version > row.version) return;
    this.touch(row);
    if (this.rows.size > this.capacity) {
      const eldest = this.rows.keys().next();
      if (!eldest.done) this.rows.delete(eldest.value);
    }
  }

  /** Drops the row if it is not newer than `version` (the version a guard just missed on). */
  forget(id: string, version: number): void {
    const known = this.rows.get(id);
    if (known && known.version <= version) this.rows.delete(id);
  }

  get size(): number {
    return this.rows.size;
  }

  private touch(row: SessionRow): void {
    this.rows.delete(row.id);
    this.rows.set(row.id, row);
  }
}

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
