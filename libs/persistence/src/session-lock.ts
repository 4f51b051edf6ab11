import pg from 'pg';

/**
 * A Postgres session-level advisory lock held on a connection of its own, for "one replica at a
 * time" roles that last (a job lock, `withAdvisoryLock`, lasts one transaction). The lock goes with
 * its connection: when the holder's process dies, Postgres sees the connection close and the lock
 * is free for the next `tryAcquire` of another replica. A lost connection (Postgres restarted, the
 * backend terminated) is not an error here: the lock is simply not held any more, and `tryAcquire`
 * connects again.
 */
export class SessionLock {
  private client: pg.Client | undefined;
  private holding = false;
  private closed = false;

  constructor(
    private readonly databaseUrl: string,
    /** Hashed into the lock's key (`hashtext`), like the job locks. */
    private readonly key: string,
    private readonly options: { applicationName?: string; connectTimeoutMs?: number } = {},
  ) {}

  /** Whether this process holds the lock (as far as it knows: a connection that just died still reads true until its error event). */
  get held(): boolean {
    return this.holding;
  }

  /** Takes the lock if it is free; true when this process holds it (already held: true at once). */
  async tryAcquire(): Promise<boolean> {
    if (this.closed) return false;
    if (this.holding) return true;
    const client = this.client ?? (await this.connect());
    // Closed while it connected: nobody else would end this connection.
    if (this.closed) {
      await this.release();
      return false;
    }
    const { rows } = await client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
      [this.key],
    );
    // A release or close that ran while the query was in flight wins.
    this.holding = rows[0]?.locked === true && this.client === client && !this.closed;
    return this.holding;
  }

  /** Gives the lock up (and the connection with it); a later `tryAcquire` may take it again. */
  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.holding = false;
    await client?.end().catch(() => undefined);
  }

  /** Releases the lock for good. */
  async close(): Promise<void> {
    this.closed = true;
    await this.release();
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 3_000,
      application_name: this.options.applicationName,
    });
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.holding = false;
    };
    // Without a listener, an 'error' on an idle client (its backend terminated) crashes the process.
    client.on('error', lost);
    client.on('end', lost);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    return client;
  }
}
