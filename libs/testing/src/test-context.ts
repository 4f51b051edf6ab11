import { createIsolatedDatabase, uniqueToken } from './infrastructure.js';

/**
 * One test file's isolated slice of the shared infrastructure: its own database and its own
 * NATS namespace (subject prefix and stream-name suffix), so concurrent runs never see each other.
 */
export interface TestContext {
  readonly natsUrl: string;
  /** URL of a database created for this context alone. */
  readonly databaseUrl: string;
  /** Prefix for every subject (`<token>.`), passed to the messaging lib as `subjectPrefix`. */
  readonly subjectPrefix: string;
  /** Suffix for every stream and durable name, passed to the messaging lib as `nameSuffix`. */
  readonly nameSuffix: string;
  readonly token: string;
  dispose(): Promise<void>;
}

/** Removes every JetStream stream of a test namespace, so runs leave the shared server as they found it. */
export async function deleteStreamsWithSuffix(natsUrl: string, suffix: string): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: natsUrl, timeout: 5_000 });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      if (name.endsWith(suffix)) await jsm.streams.delete(name).catch(() => undefined);
    }
  } finally {
    await nc.close();
  }
}

export function testInfrastructureUrls(): { natsUrl: string; databaseUrl: string } {
  const natsUrl = process.env['ORGMESH_TEST_NATS_URL'] ?? process.env['NATS_URL'];
  const databaseUrl = process.env['ORGMESH_TEST_DATABASE_URL'] ?? process.env['DATABASE_URL'];
  if (!natsUrl || !databaseUrl) {
    throw new Error('test infrastructure not provisioned: run through jest (integration project) or set NATS_URL and DATABASE_URL');
  }
  return { natsUrl, databaseUrl };
}

export async function createTestContext(): Promise<TestContext> {
  const { natsUrl, databaseUrl } = testInfrastructureUrls();
  const token = uniqueToken('t');
  const db = await createIsolatedDatabase(databaseUrl, `om_${token}`);
  return {
    natsUrl,
    databaseUrl: db.url,
    subjectPrefix: `${token}.`,
    nameSuffix: `_${token.toUpperCase()}`,
    token,
    async dispose() {
      await db.drop();
      await deleteStreamsWithSuffix(natsUrl, `_${token.toUpperCase()}`);
    },
  };
}
