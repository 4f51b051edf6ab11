import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PrivacyBudgetWarning, type PrivacyBudgetWarningPayload } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import {
  budgetWarningFixture,
  createTestContext,
  expectEventually,
  type TestContext,
} from '@orgmesh/testing';
import { budgetWarningPublisher } from '../src/governance/warnings.js';

/**
 * A budget warning is claimed once per budget, subject and window before it is published, so the
 * publisher is its only chance to reach the bus (and the manager's notification, ADR 0016): on real
 * NATS, a publish that finds no stream yet is retried under the same message id and lands once.
 */
const silent = createLogger({ service: 'budget-warning-publish-test', level: 'silent' });

const warning = budgetWarningFixture({ eventId: 'bw-retry-1' });

describe('budget warning publisher', () => {
  let ctx: TestContext;
  let bus: MessageBus;

  beforeAll(async () => {
    ctx = await createTestContext();
    bus = await connectBus({
      url: ctx.natsUrl,
      name: 'privacy-proxy',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger: silent,
    });
  });

  afterAll(async () => {
    await bus?.close();
    await ctx?.dispose();
  });

  it('retries a publish no stream took under the same id, and the stream holds the warning once', async () => {
    const publish = budgetWarningPublisher(bus, silent, [300, 300, 300, 300, 300, 300]);
    // No PRIVACY stream yet: the first attempts find nobody to store it; a later one does.
    publish(warning);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await bus.ensureStream('privacy');
    const received: Array<{ payload: PrivacyBudgetWarningPayload; eventId: string }> = [];
    await bus.consume(PrivacyBudgetWarning, 'budget-warning-publish-test', async (payload, meta) => {
      received.push({ payload, eventId: meta.eventId });
    });
    await expectEventually(() => expect(received).toEqual([{ payload: warning, eventId: warning.eventId }]));
    // Another publish of the same warning (an attempt whose ack was lost) is dropped by the duplicate window.
    publish(warning);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const info = await bus.jsm.streams.info(bus.streamName('privacy'));
    expect(info.state.messages).toBe(1);
    expect(received).toHaveLength(1);
  });
});
