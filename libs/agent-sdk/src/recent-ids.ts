/**
 * A bounded set of recently seen ids: insertion-ordered, the oldest forgotten first. Enough to drop
 * redeliveries of tasks this process already handled; anything older is checked against the mesh.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 10_000) {
    if (capacity < 1) throw new Error('capacity must be at least 1');
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.delete(id);
    this.ids.add(id);
    while (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest === undefined) break;
      this.ids.delete(oldest);
    }
  }

  get size(): number {
    return this.ids.size;
  }
}
