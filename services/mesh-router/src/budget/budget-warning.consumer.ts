import { PrivacyBudgetWarning } from '@orgmesh/contracts';
import {
  BusPermissionError,
  conventionalDurable,
  type ConsumerHandle,
  type MessageBus,
} from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';
import { Counter, type Registry } from 'prom-client';
import type { BudgetWarningNotifier, BudgetWarningOutcome } from './budget-warning.notifier.js';

/** The router replicas' one durable on the PRIVACY stream (granted in libs/contracts access.ts). */
export const BUDGET_WARNING_DURABLE = conventionalDurable('mesh-router', PrivacyBudgetWarning.subject);

// A registry that does not answer fails a delivery retryably: about 25 minutes of retries before
// the warning is dead-lettered (dlq.privacy.v1.budget-warning), so a registry restart loses nothing.
const MAX_DELIVER = 60;
const BACKOFF_MS = [500, 2_000, 5_000, 15_000, 30_000];
const START_RETRY_MAX_MS = 5_000;

/**
 * Consumes privacy.v1.budget-warning durably (at least once, in stream order) and has each warning
 * notified to the manager once (BudgetWarningNotifier dedupes by the warning's id). The PRIVACY
 * stream is the privacy proxy's to create: where the router may not create it (a secured bus) and it
 * does not exist yet, the consumer waits for it in the background; the durable starts at the
 * stream's first message, so no warning published meanwhile is missed.
 */
export class BudgetWarningConsumer {
  private handle: ConsumerHandle | undefined;
  private waiting: Promise<void> | undefined;
  private stopped = false;
  private readonly outcomes: Counter<'outcome'>;

  constructor(
    private readonly bus: MessageBus,
    private readonly notifier: Pick<BudgetWarningNotifier, 'notify'>,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.outcomes = new Counter({
      name: 'orgmesh_mesh_budget_warnings_total',
      help: 'LLM budget warnings consumed, by outcome (notified: a notification went to the manager role; duplicate: notified before; no_manager: nobody above the line)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    // Every outcome is a series from the start (at 0): a scrape before the first warning shows the
    // counter, and a rate over it starts from a known zero.
    const outcomes: BudgetWarningOutcome[] = ['notified', 'duplicate', 'no_manager'];
    for (const outcome of outcomes) this.outcomes.inc({ outcome }, 0);
  }

  async start(): Promise<void> {
    try {
      // Not created here when missing: the stream is the proxy's, and on a secured bus the attempt
      // is refused (a permission violation in the router's and the server's log on every start).
      if (await this.bus.streamFor(PrivacyBudgetWarning.subject)) {
        await this.subscribe();
        return;
      }
    } catch (error) {
      if (!(error instanceof BusPermissionError)) throw error;
    }
    this.logger.info({}, 'budget warning notifications wait for the privacy stream');
    this.waiting = this.retryUntilSubscribed();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.waiting;
    await this.handle?.stop();
  }

  private async subscribe(): Promise<void> {
    this.handle = await this.bus.consume(
      PrivacyBudgetWarning,
      BUDGET_WARNING_DURABLE,
      async (warning) => {
        const { outcome, task } = await this.notifier.notify(warning);
        this.count(outcome);
        // Ids and names only: the manager's role, never the person.
        this.logger.info(
          { budget: warning.budget, role: warning.role, outcome, taskId: task?.id, to: task?.to.role },
          'budget warning handled',
        );
      },
      { concurrency: 1, maxDeliver: MAX_DELIVER, backoffMs: BACKOFF_MS },
    );
  }

  private count(outcome: BudgetWarningOutcome): void {
    this.outcomes.inc({ outcome });
  }

  private async retryUntilSubscribed(): Promise<void> {
    for (let delay = 250; !this.stopped; delay = Math.min(delay * 2, START_RETRY_MAX_MS)) {
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
      if (this.stopped) return;
      try {
        if (!(await this.bus.streamFor(PrivacyBudgetWarning.subject))) continue;
        await this.subscribe();
        this.logger.info({}, 'budget warning notifications started');
        return;
      } catch (error) {
        if (!(error instanceof BusPermissionError))
          this.logger.warn({ err: error }, 'budget warning notifications could not start; retrying');
      }
    }
  }
}
