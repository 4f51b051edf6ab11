import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { nkeyAuthenticator } from '@nats-io/nats-core';
import { GetSession } from '@orgmesh/contracts';
import { connectBus, natsTlsOptions, readNkeySeed, type MessageBus } from '@orgmesh/messaging';
import {
  createTestContext,
  issueTestCertificates,
  startSecuredNats,
  type SecuredNats,
  type TestContext,
} from '@orgmesh/testing';
import type { SessionsApp } from '../src/sessions.app.js';
import { authorizeBus, sessionsBearer, silentLogger, startTestSessions } from './sessions-harness.js';

/**
 * The production path of the secured bus (deploy/k8s/platform/nats-values.yaml): a nats-server that
 * requires TLS with a certificate of its own CA and runs the users of the generated nats-auth.conf;
 * the sessions service connects from its real config (NATS_URL tls://…, NATS_TLS_CA_FILE,
 * NATS_NKEY_SEED_FILE), exactly the keys the prod overlay sets.
 */
describe('sessions on a TLS-only secured NATS, trusting only the bus CA', () => {
  let base: TestContext;
  let nats: SecuredNats;
  let sessions: SessionsApp;
  let gateway: MessageBus;
  const dirs: string[] = [];

  beforeAll(async () => {
    base = await createTestContext();
    nats = await startSecuredNats({
      subjectPrefix: base.subjectPrefix,
      nameSuffix: base.nameSuffix,
      tls: true,
    });
    // The MESH stream sessions follows is the mesh router's to create (its identity may, sessions' not).
    const mesh = await connectBus({
      url: nats.url,
      name: 'mesh-router',
      nkeySeedFile: nats.seedFile('mesh-router'),
      tlsCaFile: nats.caFile,
      subjectPrefix: base.subjectPrefix,
      nameSuffix: base.nameSuffix,
      logger: silentLogger,
    });
    try {
      await mesh.ensureStream('mesh');
    } finally {
      await mesh.close();
    }
    sessions = await startTestSessions(
      { ...base, natsUrl: nats.url },
      { overrides: { NATS_NKEY_SEED_FILE: nats.seedFile('sessions'), NATS_TLS_CA_FILE: nats.caFile! } },
    );
    gateway = authorizeBus(
      await connectBus({
        url: nats.url,
        name: 'gateway',
        nkeySeedFile: nats.seedFile('gateway'),
        tlsCaFile: nats.caFile,
        subjectPrefix: base.subjectPrefix,
        nameSuffix: base.nameSuffix,
        logger: silentLogger,
      }),
      await sessionsBearer(base, 'tls-test-admin', 'admin'),
    );
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
    await sessions?.close();
    await nats?.dispose();
    await base?.dispose();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('serves RPCs over TLS: the gateway identity reaches sessions through the TLS-only server', async () => {
    await expect(gateway.request(GetSession, { id: randomUUID() })).rejects.toMatchObject({
      code: 'session_not_found',
    });
  });

  it('every connection the server holds is TLS, the service among them under its own identity', async () => {
    const connz = (await (await fetch(`http://127.0.0.1:${nats.httpPort}/connz?auth=true`)).json()) as {
      connections: Array<{ name?: string; tls_version?: string; authorized_user?: string }>;
    };
    const names = connz.connections.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['sessions', 'gateway']));
    for (const connection of connz.connections) expect(connection.tls_version).toMatch(/^1\.[23]$/);
  });

  // The raw client, once, without retries: what connectBus would keep retrying is refused here.
  const once = (url: string, options: Record<string, unknown>) =>
    connect({ servers: url, reconnect: false, timeout: 5_000, ...options });

  it('refuses a server certificate from another CA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orgmesh-other-ca-'));
    dirs.push(dir);
    const other = issueTestCertificates(dir, 'other');
    const seed = readNkeySeed(nats.seedFile('gateway'));
    await expect(
      once(nats.url, { tls: natsTlsOptions(nats.url, other.caFile), authenticator: nkeyAuthenticator(seed) }),
    ).rejects.toThrow(/certificate/i);
  });

  it('refuses a client with the CA but without a known NKey', async () => {
    await expect(once(nats.url, { tls: natsTlsOptions(nats.url, nats.caFile) })).rejects.toThrow(
      /authorization/i,
    );
  });

  it('a tls:// URL refuses a server that offers no TLS instead of falling back to plaintext', async () => {
    const plain = base.natsUrl.replace(/^nats:\/\//, 'tls://');
    await expect(once(plain, { tls: natsTlsOptions(plain) })).rejects.toThrow(/tls/i);
    // Without the requirement the same client talks plaintext to it: what the option prevents.
    const nc = await once(base.natsUrl, {});
    await nc.close();
  });

  it('refuses to start on a CA file that cannot be read, naming the variable’s file', async () => {
    await expect(
      connectBus({ url: nats.url, name: 'sessions', tlsCaFile: '/nonexistent/ca.crt', logger: silentLogger }),
    ).rejects.toEqual(
      expect.objectContaining({
        code: 'unavailable',
        message: expect.stringContaining('/nonexistent/ca.crt'),
      }),
    );
  });
});
