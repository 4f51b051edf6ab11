import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestContext, expectEventually, freePort, type TestContext } from '@orgmesh/testing';
import { createLogger } from '@orgmesh/telemetry';
import { ServiceHost, type ServiceHostOptions } from '../src/index.js';

const logger = createLogger({ service: 'service-host-test', level: 'silent' });

describe('ServiceHost (real NATS and Postgres)', () => {
  let ctx: TestContext;
  let admin: pg.Client;

  beforeAll(async () => {
    ctx = await createTestContext();
    admin = new pg.Client({ connectionString: ctx.databaseUrl });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await ctx?.dispose();
  });

  const options = (service: string): ServiceHostOptions => ({
    service,
    schema: 'public',
    logger,
    config: {
      LOG_LEVEL: 'silent',
      DATABASE_URL: ctx.databaseUrl,
      DATABASE_POOL_SIZE: 2,
      NATS_URL: ctx.natsUrl,
      NATS_SUBJECT_PREFIX: ctx.subjectPrefix,
      NATS_NAME_SUFFIX: ctx.nameSuffix,
    },
  });

  /** Connections the host's pool holds open (its application name is `orgmesh-<service>`). */
  const poolConnections = async (service: string) => {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`,
      [`orgmesh-${service}`],
    );
    return rows[0]!.n;
  };
  /** A closed pool's server processes are gone from pg_stat_activity shortly after it ends. */
  const noPoolLeft = (service: string) =>
    expectEventually(async () => expect(await poolConnections(service)).toBe(0));
  const listening = (port: number) =>
    fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => true,
      () => false,
    );

  it('serves readiness over NATS, Postgres and its own checks, and closes last-opened first, then the bus and the pool', async () => {
    const host = await ServiceHost.open(options('host-a'));
    const order: string[] = [];
    const port = await freePort();
    await host.start(async (h) => {
      h.onClose(() => order.push('first opened'));
      h.onClose(async () => {
        // Still usable while the service's own parts close.
        await h.db.ping();
        order.push('second opened');
      });
      await h.serveHealth({ host: '127.0.0.1', port }, { warm: async () => undefined });
    });
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.stringify(await ready.json())).toMatch(/nats.*postgres.*warm|warm.*nats/s);
    expect(await poolConnections('host-a')).toBeGreaterThan(0);

    await host.close();
    expect(order).toEqual(['second opened', 'first opened']);
    expect(host.bus.nc.isClosed()).toBe(true);
    await noPoolLeft('host-a');
    expect(await listening(port)).toBe(false);
    await expect(host.close()).resolves.toBeUndefined(); // idempotent
  });

  it('answers 503 naming a failing check', async () => {
    const host = await ServiceHost.open(options('host-b'));
    const port = await freePort();
    try {
      await host.serveHealth(
        { host: '127.0.0.1', port },
        {
          registry: async () => {
            throw new Error('no registry version loaded');
          },
        },
      );
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toContain('registry');
    } finally {
      await host.close();
    }
  });

  it('closes everything it opened when the start fails half-way, and rethrows the start error', async () => {
    const host = await ServiceHost.open(options('host-c'));
    const port = await freePort();
    const closed: string[] = [];
    await expect(
      host.start(async (h) => {
        await h.serveHealth({ host: '127.0.0.1', port });
        h.onClose(() => closed.push('consumer'));
        throw new Error('signing key unreadable');
      }),
    ).rejects.toThrow('signing key unreadable');
    expect(closed).toEqual(['consumer']);
    expect(await listening(port)).toBe(false);
    expect(host.bus.nc.isClosed()).toBe(true);
    await noPoolLeft('host-c');
  });

  it('runs every close step even when one fails, and reports the first failure', async () => {
    const host = await ServiceHost.open(options('host-d'));
    const ran: string[] = [];
    host.onClose(() => ran.push('a'));
    host.onClose(() => {
      throw new Error('relay stop failed');
    });
    host.onClose(() => ran.push('c'));
    await expect(host.close()).rejects.toThrow('relay stop failed');
    expect(ran).toEqual(['c', 'a']);
    expect(host.bus.nc.isClosed()).toBe(true);
    await noPoolLeft('host-d');
  });

  it('starts jobs unless told not to, and stops them at close either way', async () => {
    const host = await ServiceHost.open(options('host-f'));
    const events: string[] = [];
    const jobs = (name: string) => ({
      start: () => void events.push(`start ${name}`),
      stop: async () => void events.push(`stop ${name}`),
    });
    const running = jobs('running');
    expect(host.runJobs(running, true)).toBe(running);
    host.runJobs(jobs('by hand'), false);
    expect(events).toEqual(['start running']);
    await host.close();
    expect(events).toEqual(['start running', 'stop by hand', 'stop running']);
    await noPoolLeft('host-f');
  });

  it('leaves no pool behind when the bus cannot be opened', async () => {
    const opts = options('host-e');
    // Refused by the bus before any connection (the pool is already open by then).
    await expect(
      ServiceHost.open({ ...opts, config: { ...opts.config, NATS_SUBJECT_PREFIX: 'not a prefix' } }),
    ).rejects.toThrow(/prefix/i);
    await noPoolLeft('host-e');
  });
});
