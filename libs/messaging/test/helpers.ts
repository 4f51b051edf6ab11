import type { JetStreamManager } from '@nats-io/jetstream';
import { PermissionViolationError, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';
import { createOutboxTables } from '@orgmesh/migrations';
import { Database } from '@orgmesh/persistence';
import { createLogger } from '@orgmesh/telemetry';
import type { Logger } from '@orgmesh/telemetry';
import type { TestContext } from '@orgmesh/testing';
import { connectBus, type MessageBus } from '../src/index.js';

/** The server's permission errors on a connection, as they arrive. */
export function violations(nc: NatsConnection): PermissionViolationError[] {
  const seen: PermissionViolationError[] = [];
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'error' && status.error instanceof PermissionViolationError)
        seen.push(status.error);
    }
  })();
  return seen;
}

/** Quiet logs in tests unless LOG_LEVEL asks for more. */
export function testLogger(service: string): Logger {
  return createLogger({ service, level: process.env['LOG_LEVEL'] ?? 'silent' });
}

/** Deletes every stream of a namespace (they all end with its suffix). */
export async function deleteStreams(jsm: JetStreamManager, nameSuffix: string): Promise<void> {
  for await (const name of jsm.streams.names()) {
    if (name.endsWith(nameSuffix)) await jsm.streams.delete(name).catch(() => undefined);
  }
}

export interface DeadLetter {
  subject: string;
  headers: Record<string, string>;
  body: string;
}

/** Every message currently in the namespace's dead-letter stream, oldest first. */
export async function readDeadLetters(bus: MessageBus): Promise<DeadLetter[]> {
  const stream = bus.deadLetterStreamName();
  const out: DeadLetter[] = [];
  let info;
  try {
    info = await bus.jsm.streams.info(stream);
  } catch {
    return out;
  }
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const msg = await bus.jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!msg) continue;
    out.push({
      subject: msg.subject,
      headers: toRecord(msg.header),
      body: new TextDecoder().decode(msg.data),
    });
  }
  return out;
}

function toRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of h) out[k.toLowerCase()] = v[v.length - 1] ?? '';
  return out;
}

/** A fresh schema holding the outbox tables, and a bus in the test's namespace: what an outbox test starts from. */
export async function outboxSchemaAndBus(
  ctx: TestContext,
  schema: string,
  name: string,
): Promise<{ db: Database; bus: MessageBus }> {
  const db = await Database.connect({ url: ctx.databaseUrl, schema });
  await db.query(`CREATE SCHEMA "${schema}"`);
  const runner = db.dataSource.createQueryRunner();
  try {
    await createOutboxTables(runner, schema);
  } finally {
    await runner.release();
  }
  const bus = await connectBus({
    url: ctx.natsUrl,
    name,
    subjectPrefix: ctx.subjectPrefix,
    nameSuffix: ctx.nameSuffix,
    logger: testLogger(name),
  });
  return { db, bus };
}
