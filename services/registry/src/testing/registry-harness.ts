import { type EventDefinition, type EventPayload } from '@orgmesh/contracts';
import { type ConsumerHandle, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import type { TestContext, TestServiceOptions } from '@orgmesh/testing';
import { createTestContext, namespaceBus, serviceTestEnv, startTestService } from '@orgmesh/testing';
import { loadRegistryConfig, type RegistryConfig } from '../registry.config.js';
import { startRegistryApp, type RegistryApp, type RegistryAppOptions } from '../registry.app.js';
import { DEMO_REGISTRY_DIR } from './demo-registry.js';

export const silentLogger = createLogger({ service: 'registry-test', level: 'silent' });

/** Test defaults: the demo registry, admin checks off, health on a free port. */
export function testConfig(ctx: TestContext, overrides: Record<string, string> = {}): RegistryConfig {
  return loadRegistryConfig({
    ...serviceTestEnv(ctx, ['REGISTRY_HTTP_PORT']),
    REGISTRY_DIR: DEMO_REGISTRY_DIR,
    REGISTRY_AUTH: 'off',
    ...overrides,
  });
}

/** The registry on `testConfig` (plus `overrides`), migrated, silent, its jobs run by hand unless `startJobs`. */
export function startTestRegistry(
  ctx: TestContext,
  options: TestServiceOptions<RegistryAppOptions, 'verifier' | 'startJobs' | 'clock'> = {},
): Promise<RegistryApp> {
  return startTestService(startRegistryApp, (overrides) => testConfig(ctx, overrides), options, silentLogger);
}

/** A client bus in the same isolated namespace as the service under test. */
export function clientBus(ctx: TestContext): Promise<MessageBus> {
  return namespaceBus(ctx, 'registry-test-client', { logger: silentLogger });
}

export { rpcError } from '@orgmesh/testing';

/**
 * Records registry events as consumers see them: from JetStream (durable consumers, from the start
 * of the stream), so an event shows here only once the outbox relay has published it.
 */
export class EventRecorder {
  private readonly received = new Map<string, Array<{ payload: unknown; eventId: string }>>();
  private readonly handles: ConsumerHandle[] = [];

  static async start(bus: MessageBus, events: readonly EventDefinition[]): Promise<EventRecorder> {
    const recorder = new EventRecorder();
    for (const event of events) {
      recorder.received.set(event.subject, []);
      recorder.handles.push(
        await bus.consume(
          event,
          `registry-test-${event.subject.split('.').pop() ?? 'event'}`,
          async (payload, ctx) => {
            recorder.received.get(event.subject)?.push({ payload, eventId: ctx.eventId });
          },
        ),
      );
    }
    return recorder;
  }

  of<E extends EventDefinition>(event: E): Array<EventPayload<E>> {
    return (this.received.get(event.subject) ?? []).map((r) => r.payload as EventPayload<E>);
  }

  eventIds(event: EventDefinition): string[] {
    return (this.received.get(event.subject) ?? []).map((r) => r.eventId);
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.handles.map((h) => h.stop()));
  }
}

export { createTestContext };
