import type { Logger } from './logger.js';

/**
 * Interval timers for a service's background jobs. A tick still running (a large backlog, a slow
 * dependency) is not overlapped by the next one; a failed tick is logged with the error's name and
 * code only (never its message, which may quote data) and reported to `onFailure`, and the job
 * carries on at the next interval. Timers never keep the process alive.
 */
export class JobTimers {
  private timers: NodeJS.Timeout[] = [];
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly options: { logger: Logger; failureMessage: string; onFailure?: (job: string) => void },
  ) {}

  every(job: string, intervalMs: number, tick: () => Promise<unknown>): void {
    const timer = setInterval(() => {
      if (this.running.has(job)) return;
      const run = tick()
        .catch((error: unknown) => {
          this.options.onFailure?.(job);
          this.options.logger.warn(
            { job, err: error instanceof Error ? { name: error.name, code: (error as { code?: string }).code } : undefined },
            this.options.failureMessage,
          );
        })
        .finally(() => this.running.delete(job));
      this.running.set(job, run);
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  /** Stops the timers and waits for ticks in flight. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.allSettled([...this.running.values()]);
  }
}
