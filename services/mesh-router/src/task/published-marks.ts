/** Most rows one statement marks. */
const MARK_BATCH = 500;
/** How long acknowledged rows wait for a task statement to carry their mark before one of their own does. */
const MARK_ALONE_AFTER_MS = 50;

/**
 * The outbox rows the eager publisher published (JetStream acknowledged them), waiting to be
 * marked published so the relay skips them. Under load the next batched task statement marks them
 * (TaskBatchWrites takes them into a CTE of its own), so marking costs no statement, round trip or
 * commit of its own. Rows that no task statement took within MARK_ALONE_AFTER_MS (an idle replica)
 * are marked by a statement of their own.
 *
 * Measured before, under the mesh benchmark: the mark statement, sent on a 20 ms timer per replica,
 * was 0.20 of a lone router's 0.63 Postgres statements per lifecycle, and 0.56 of two replicas'
 * 1.97 (each replica ran its own timer at half the rate of rows). A mark lost (a failed statement,
 * a crash) costs only a second publish: the relay's poll takes the row once it is older than its
 * grace, and the stream's duplicate window drops the copy.
 */
export class PublishedMarks {
  private readonly waiting: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private marking: Promise<void> | undefined;

  /** `markAlone` marks rows by a statement of their own; `failed` hears why it failed (never throws). */
  constructor(
    private readonly markAlone: (eventIds: string[]) => Promise<void>,
    private readonly failed: (error: unknown, rows: number) => void = () => undefined,
  ) {}

  /** A row JetStream acknowledged. */
  add(eventId: string): void {
    this.waiting.push(eventId);
    this.arm();
  }

  /** The rows a task statement marks with its own writes (removed from the queue). */
  take(): string[] {
    const ids = this.waiting.splice(0, MARK_BATCH);
    if (this.waiting.length === 0) this.disarm();
    return ids;
  }

  /** Rows a task statement took but did not commit (it failed): they wait again, first. */
  giveBack(eventIds: string[]): void {
    if (eventIds.length === 0) return;
    this.waiting.unshift(...eventIds);
    this.arm();
  }

  /** Marks every waiting row now, by statements of their own (the timer, and the publisher's stop). */
  async flush(): Promise<void> {
    this.disarm();
    await this.marking;
    const batch = this.waiting.splice(0, MARK_BATCH);
    if (batch.length === 0) return;
    this.marking = this.markAlone(batch).catch((error: unknown) => this.failed(error, batch.length));
    await this.marking;
    if (this.waiting.length) await this.flush();
  }

  private arm(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, MARK_ALONE_AFTER_MS);
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
