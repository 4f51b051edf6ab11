import { PrivacyBudgetWarning } from '@orgmesh/contracts';
import { conventionalDurable, type ConsumerHandle, type MessageBus } from '@orgmesh/messaging';
import type { Logger } from '@orgmesh/telemetry';
import { Counter, type Registry } from 'prom-client';
import type { BudgetWarningNotifier, BudgetWarningOutcome } from './budget-warning.notifier.js';

/** The router replicas' one durable on the PRIVACY stream (granted in libs/contracts access.ts). */
export const BUDGET_WARNING_DURABLE = conventionalDurable('mesh-router', PrivacyBudgetWarning.subject);

// A registry that does not answer fails a delivery retryably: about 25 minutes of retries before
// the warning is dead-lettered (dlq.privacy.v1.budget-warning), so a registry restart loses nothing.
const MAX_DELIVER = 60;
const BACKOFF_MS = [500, 2_000, 5_000, 15_000, 30_000];

/**
 * Consumes privacy.v1.budget-warning durably (at least once, in stream order) and has each warning
 * notified to the manager once (BudgetWarningNotifier dedupes by the warning's id). The PRIVACY
 * stream is the privacy proxy's to create: where it does not exist yet, the consumer waits for it in
 * the background (ConsumeOptions.waitForOwner; the router never tries to create it, which a secured
 * bus refuses); the durable starts at the stream's first message, so no warning is missed.
 */
export class BudgetWarningConsumer {
  private handle: ConsumerHandle | undefined;
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
      { concurrency: 1, maxDeliver: MAX_DELIVER, backoffMs: BACKOFF_MS, waitForOwner: true },
    );
  }

  async stop(): Promise<void> {
    await this.handle?.stop();
  }

  private count(outcome: BudgetWarningOutcome): void {
    this.outcomes.inc({ outcome });
  }
}
