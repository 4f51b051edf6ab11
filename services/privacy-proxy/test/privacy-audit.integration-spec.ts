import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PrivacyRedacted, type PrivacyRedactedPayload } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditSpool } from '../src/audit/audit-spool.js';
import { NatsAuditSink } from '../src/audit/nats-audit-sink.js';
import { SEEDED_TEXT, SEEDED_VALUES, startHarness, type Harness } from './proxy-harness.js';

describe('privacy.v1.redacted audit events on JetStream', () => {
  let ctx: TestContext;
  let bus: MessageBus;
  let sink: NatsAuditSink;
  let h: Harness;
  const received: Array<{ payload: PrivacyRedactedPayload; raw: string }> = [];
  const spoolDir = mkdtempSync(join(tmpdir(), 'privacy-audit-'));

  beforeAll(async () => {
    ctx = await createTestContext();
    const logger = createLogger({ service: 'privacy-audit-test', level: 'silent' });
    bus = await connectBus({ url: ctx.natsUrl, name: 'privacy-proxy', subjectPrefix: ctx.subjectPrefix, nameSuffix: ctx.nameSuffix, logger });
    await bus.ensureStream('privacy');
    sink = new NatsAuditSink(bus, AuditSpool.open({ dir: spoolDir }), logger);
    sink.start();
    h = await startHarness({}, { extraAudit: sink });
    await bus.consume(PrivacyRedacted, 'audit-test', async (payload) => {
      received.push({ payload, raw: JSON.stringify(payload) });
    });
  });

  afterAll(async () => {
    await h?.close();
    await sink?.stop();
    await bus?.close();
    rmSync(spoolDir, { recursive: true, force: true });
    await ctx?.dispose();
  });

  it('publishes one event per masked request with counts per entity type, role and agent, and no values', async () => {
    const token = await h.token('finance');
    const response = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-orgmesh-session-id': 'sess-audit-1' },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: SEEDED_TEXT }] }),
    });
    expect(response.status).toBe(200);
    await response.text();
    await expectEventually(() => expect(received).toHaveLength(1));
    const [event] = received;
    expect(event!.payload).toMatchObject({ role: 'finance', agentId: 'finance-agent', mode: 'mask' });
    expect(event!.payload.counts['email']).toBeGreaterThanOrEqual(1);
    expect(event!.payload.counts['ssn']).toBeGreaterThanOrEqual(1);
    expect(event!.payload.counts['iban']).toBeGreaterThanOrEqual(1);
    for (const value of SEEDED_VALUES) expect({ value, leaked: event!.raw.includes(value) }).toEqual({ value, leaked: false });
    // The same event id as the in-process audit record: one event, published once.
    expect(event!.payload.eventId).toBe(h.audit.events.at(-1)?.eventId);
  });
});
