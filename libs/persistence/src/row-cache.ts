/**
 * The newest rows (by `version`) a replica wrote or read, least recently used evicted first. A hint,
 * never the truth: a write decided on a cached row is guarded by its version, so a row that another
 * replica changed since only costs a guard miss and a read. Rows only move forward: an older
 * version never replaces a newer one (two writes of one row may finish out of order).
 */
export class RowCache<R extends { id: string; version: number }> {
  private readonly rows = new Map<string, R>();

  constructor(private readonly capacity: number) {}

  get(id: string): R | undefined {
    const row = this.rows.get(id);
    if (row) this.touch(row);
    return row;
  }

  /** True when the row is news: unknown here, or newer than the version held (a repeat is not). */
  remember(row: R): boolean {
    if (this.capacity <= 0) return false;
    const known = this.rows.get(row.id);
    if (known && known.version > row.version) return false;
    this.touch(row);
    if (this.rows.size > this.capacity) {
      const eldest = this.rows.keys().next();
      if (!eldest.done) this.rows.delete(eldest.value);
    }
    return !known || known.version < row.version;
  }

  /** Drops the row if it is not newer than `version` (the version a guard just missed on). */
  forget(id: string, version: number): void {
    const known = this.rows.get(id);
    if (known && known.version <= version) this.rows.delete(id);
  }

  get size(): number {
    return this.rows.size;
  }

  private touch(row: R): void {
    this.rows.delete(row.id);
    this.rows.set(row.id, row);
  }
}
