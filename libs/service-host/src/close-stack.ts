import type { Logger } from '@orgmesh/telemetry';

/**
 * What a service opened, closed in reverse: each part registers its close as it opens, and `close`
 * runs them last opened first. A step that fails is logged and does not keep the others from
 * running; the first failure is rethrown at the end. Used by ServiceHost and by the services that
 * open their parts without one (the privacy proxy, whose bus and database are optional).
 */
export class CloseStack {
  private readonly steps: Array<() => unknown> = [];

  push(step: () => unknown): void {
    this.steps.push(step);
  }

  async close(logger: Logger, fields: Record<string, unknown> = {}): Promise<void> {
    let failure: { error: unknown } | undefined;
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        logger.error({ err: error, ...fields }, 'closing a service part failed');
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }
}
