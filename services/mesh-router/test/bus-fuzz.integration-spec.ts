import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createJwtVerifier, LocalIssuer, SCOPES } from '@orgmesh/auth';
import {
  allContracts,
  GetDirectory,
  ListSessions,
  ListTasks,
  TaskUpdated,
  type EventDefinition,
  type RpcDefinition,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import {
  deepJsonText,
  describeBody,
  expectEventually,
  fixedHostileBodies,
  fuzzBudget,
  fuzzEdge,
  hostileBody,
  hostileHeaders,
  hostileString,
  recordProcessFaults,
  replyProblem,
  requestRaw,
  schemaValue,
  type HostileBody,
  type TestContext,
} from '@orgmesh/testing';
// The services that serve RPCs run in this one test, each the real app (the privacy proxy too: its Nest
// service with a profiles file) against the same NATS namespace and database, so the suite covers
// every RPC contract with one client.
import { startTestSessions, trustLocalIssuer, type SessionsApp } from '@orgmesh/sessions/testing';
import { startTestRegistry, type RegistryApp } from '@orgmesh/registry/testing';
import {
  JoseTokenVerifier,
  loadPrivacyProxyConfig,
  startPrivacyProxyApp,
  type PrivacyProxyApp,
} from '@orgmesh/privacy-proxy/testing';
import type { MeshRouterApp } from '../src/mesh-router.app.js';
import { bearer, clientBus, createTestContext, startTestMeshRouter } from './mesh-harness.js';

/** A fuzz test's timeout: its time budget in `npm run fuzz` (FUZZ_LONG=1), plus a minute for the rest. */
const FUZZ_TIMEOUT_MS = (fuzzBudget(1).timeLimitMs ?? 0) + 60_000;

/** Which service answers a context's RPCs; a contract of any other context fails the suite until it is added here. */
const SERVING_CONTEXTS = ['sessions', 'registry', 'mesh', 'privacy'] as const;
const TIMEOUT_MS = 5_000;

/** Every RPC contract defined in libs/contracts, found through the registry of definitions. */
function rpcContracts(): RpcDefinition[] {
  return allContracts().filter((c): c is RpcDefinition => c.kind === 'rpc');
}

/**
 * Issue 17 on the bus: for every RPC contract, hostile bodies (raw bytes, non-object JSON, the
 * contract's fields filled with hostile values, 3,000 levels of nesting), with no token, a forged
 * one, an agent's and an admin's, sometimes with hostile idempotency-key and traceparent headers:
 * each request is answered in time, with a success or a typed 4xx error, never `internal`; every
 * service still answers afterwards; no process-level fault.
 */
describe('bus fuzz: every RPC contract against the real services', () => {
  let ctx: TestContext;
  let issuer: LocalIssuer;
  let bus: MessageBus;
  let sessions: SessionsApp;
  let registry: RegistryApp;
  let mesh: MeshRouterApp;
  let proxy: PrivacyProxyApp;
  let proxyDir: string;
  let authorizations: Array<{ name: string; value: string | undefined }>;
  let agentToken: string;
  const recorder = recordProcessFaults();
  /** Answers seen, `<code or ok>` → count, printed at the end: shows how deep the cases reached. */
  const outcomes = new Map<string, number>();

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    const verifier = createJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwks: issuer.jwks,
    });
    registry = await startTestRegistry(ctx, { overrides: { REGISTRY_AUTH: 'on' }, verifier });
    trustLocalIssuer(ctx, issuer);
    sessions = await startTestSessions(ctx);
    mesh = await startTestMeshRouter(ctx, issuer, { startJobs: false });
    bus = await clientBus(ctx, 'bus-fuzz-client');
    // The privacy proxy's RPCs (usage, redaction counts, mask/restore text) through its Nest controller.
    proxyDir = await mkdtemp(join(tmpdir(), 'orgmesh-bus-fuzz-proxy-'));
    await writeFile(
      join(proxyDir, 'profiles.json'),
      JSON.stringify({ profiles: { finance: { mode: 'mask' } } }),
    );
    proxy = await startPrivacyProxyApp(
      loadPrivacyProxyConfig({
        PRIVACY_PROXY_PORT: '0',
        PRIVACY_UPSTREAM_OPENAI_URL: 'http://127.0.0.1:9/v1',
        PRIVACY_PROFILES_FILE: join(proxyDir, 'profiles.json'),
        PRIVACY_HMAC_KEY: 'bus-fuzz-hmac-key-0123456789abcdef0123',
        PRIVACY_AUDIT: 'nats',
        PRIVACY_AUDIT_SPOOL_DIR: join(proxyDir, 'spool'),
        DATABASE_URL: ctx.databaseUrl,
        MIGRATE_ON_START: 'true',
        NATS_URL: ctx.natsUrl,
        NATS_SUBJECT_PREFIX: ctx.subjectPrefix,
        NATS_NAME_SUFFIX: ctx.nameSuffix,
        LOG_LEVEL: 'silent',
      }),
      {
        verifier: JoseTokenVerifier.fromLocalJwks(issuer.jwks, {
          issuer: issuer.issuer,
          audience: issuer.audience,
        }),
      },
    );
    agentToken = await bearer(issuer, 'finance-agent', 'finance');
    authorizations = [
      { name: 'no token', value: undefined },
      { name: 'forged token', value: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' },
      { name: 'agent token', value: agentToken },
      {
        name: 'admin token',
        value: `Bearer ${await issuer.sign({ sub: 'alice', role: 'admin', scope: `${SCOPES.admin} ${SCOPES.read}` })}`,
      },
    ];
  }, 60_000);

  afterAll(async () => {
    recorder.stop();
    process.stdout.write(
      `bus fuzz answers: ${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])))}\n`,
    );
    await bus?.close();
    await proxy?.close();
    if (proxyDir?.includes('orgmesh-bus-fuzz-proxy-')) await rm(proxyDir, { recursive: true, force: true });
    await mesh?.close();
    await sessions?.close();
    await registry?.close();
    await ctx?.dispose();
  });

  async function problemOf(
    rpc: RpcDefinition,
    body: HostileBody,
    authorization: string | undefined,
    headers: Record<string, string> = {},
  ) {
    let problem: string | undefined;
    try {
      const reply = await requestRaw(bus.nc, bus.subject(rpc.subject), body.body, {
        authorization,
        headers,
        timeoutMs: TIMEOUT_MS,
      });
      const outcome = reply.code ?? 'ok';
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      problem = replyProblem(reply);
    } catch (error) {
      problem = `no reply (${error instanceof Error ? error.message : String(error)})`;
    }
    return problem;
  }

  it('finds an RPC contract for each serving context, and no contract no service serves', () => {
    const contexts = new Set(rpcContracts().map((c) => c.context));
    expect([...contexts].sort()).toEqual([...SERVING_CONTEXTS].sort());
    expect(rpcContracts().length).toBeGreaterThanOrEqual(20);
  });

  it('answers every fixed hostile case of every contract with a success or a 4xx', async () => {
    const findings: string[] = [];
    let cases = 0;
    for (const rpc of rpcContracts()) {
      for (const body of fixedHostileBodies(rpc)) {
        for (const auth of authorizations) {
          cases += 1;
          const problem = await problemOf(rpc, body, auth.value);
          if (problem)
            findings.push(
              `${rpc.subject} ${body.kind} ${describeBody(body.body)} (${auth.name}): ${problem}`,
            );
        }
      }
    }
    process.stdout.write(`bus fuzz: ${cases} fixed cases over ${rpcContracts().length} RPC contracts\n`);
    expect(findings).toEqual([]);
  }, 120_000);

  it.each(SERVING_CONTEXTS)(
    'fuzz: hostile requests to every %s RPC get a success or a 4xx in time',
    async (context) => {
      const rpcs = new Map(
        rpcContracts()
          .filter((c) => c.context === context)
          .map((c) => [c.subject, c]),
      );
      // The subject, not the definition, is drawn: a failure report then names it in one line.
      const arbitrary = fc.constantFrom(...rpcs.keys()).chain((subject) =>
        fc.tuple(
          fc.constant(subject),
          hostileBody(rpcs.get(subject)!),
          fc.constantFrom(...authorizations.map((a) => a.name)),
          // Mostly none: a refused header stops a request before its body is looked at.
          fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: hostileHeaders }),
        ),
      );
      await fuzzEdge(
        `nats-rpc rpc.${context}.v1.*`,
        arbitrary,
        async ([subject, body, authName, headers]) => {
          const authorization = authorizations.find((a) => a.name === authName)?.value;
          const problem = await problemOf(rpcs.get(subject)!, body, authorization, headers);
          if (problem)
            throw new Error(`${subject} ${body.kind} ${describeBody(body.body)} (${authName}): ${problem}`);
        },
        { ciRuns: 25 * rpcs.size },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it('leaves every service answering normal requests', async () => {
    await expect(
      bus.request(ListSessions, { limit: 1 }, { authorization: agentToken }),
    ).resolves.toMatchObject({
      items: expect.any(Array),
    });
    await expect(bus.request(GetDirectory, {})).resolves.toMatchObject({ people: expect.any(Array) });
    await expect(bus.request(ListTasks, { limit: 1 }, { authorization: agentToken })).resolves.toMatchObject({
      items: expect.any(Array),
    });
  });

  /** Messages the namespace's durable consumers have not finished yet (pending or unacknowledged). */
  async function unfinished(): Promise<string[]> {
    const out: string[] = [];
    for await (const stream of bus.jsm.streams.list()) {
      if (!stream.config.name.endsWith(ctx.nameSuffix)) continue;
      for await (const consumer of bus.jsm.consumers.list(stream.config.name)) {
        const left = consumer.num_pending + consumer.num_ack_pending;
        if (left > 0) out.push(`${consumer.name}: ${left}`);
      }
    }
    return out;
  }

  /** orgmesh_unexpected_errors_total summed over the three services' /metrics. */
  async function unexpectedCounted(): Promise<number> {
    let total = 0;
    for (const app of [sessions, registry, mesh]) {
      const scraped = await (await fetch(`http://127.0.0.1:${app.health.port}/metrics`)).text();
      for (const m of scraped.matchAll(/^orgmesh_unexpected_errors_total\{[^}]*\} (\d+)/gm))
        total += Number(m[1]);
    }
    return total;
  }

  it('left no unexpected error counted and nothing dead-lettered once the consumers caught up', async () => {
    // What the fuzz stored reaches the services' event consumers (sessions follows the mesh): they
    // must take all of it without an unexpected error or a dead letter.
    await expectEventually(async () => expect(await unfinished()).toEqual([]), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    const deadLetters = await bus.jsm.streams
      .info(bus.deadLetterStreamName())
      .then((info) => info.state.messages)
      .catch(() => 0);
    expect(deadLetters).toBe(0);
    expect(await unexpectedCounted()).toBe(0);
  }, 60_000);

  it(
    'fuzz: hostile events on every event subject are consumed or dead-lettered, never an unexpected error',
    async () => {
      const events = allContracts().filter((c): c is EventDefinition => c.kind === 'event');
      const bySubject = new Map(events.map((e) => [e.subject, e]));
      const header = (v: string) => v.replace(/[\r\n]/g, ' ');
      let stored = 0;
      let valid = 0;
      await fuzzEdge(
        'nats-event (every event contract, consumed by the services)',
        fc.constantFrom(...bySubject.keys()).chain((subject) =>
          fc.tuple(
            fc.constant(subject),
            fc.oneof(
              {
                weight: 2,
                arbitrary: schemaValue(bySubject.get(subject)!.schema).map((v) => JSON.stringify(v)),
              },
              {
                weight: 3,
                arbitrary: schemaValue(bySubject.get(subject)!.schema, { mild: true }).map((v) =>
                  JSON.stringify(v),
                ),
              },
              { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
              {
                weight: 1,
                arbitrary: fc.constantFrom('null', '[]', deepJsonText(3000), '{"task":{"id":"x"}}'),
              },
            ),
            // The event id is read from Nats-Msg-Id and stored by processOnce.
            fc.oneof(
              { weight: 3, arbitrary: fc.uuid() },
              { weight: 1, arbitrary: hostileString.map(header) },
            ),
          ),
        ),
        async ([subject, body, eventId]) => {
          try {
            await bus.js.publish(bus.subject(subject), new TextEncoder().encode(body), { msgID: eventId });
            stored += 1;
            if (isValid(bySubject.get(subject)!, body)) valid += 1;
          } catch {
            // No stream of this namespace captures the subject (its owner is not running here).
            return;
          }
          await expectEventually(
            async () => {
              expect(await unexpectedCounted()).toBe(0);
              expect(await unfinished()).toEqual([]);
            },
            { timeoutMs: 10_000, intervalMs: 20 },
          );
        },
        { ciRuns: 40 },
      );
      expect(stored).toBeGreaterThan(0);
      const deadLettered = await bus.jsm.streams
        .info(bus.deadLetterStreamName())
        .then((info) => info.state.messages)
        .catch(() => 0);
      process.stdout.write(
        `bus fuzz events: ${stored} stored (${valid} valid for their schema), ${deadLettered} dead-lettered by a consumer\n`,
      );
      await expect(
        bus.request(ListSessions, { limit: 1 }, { authorization: agentToken }),
      ).resolves.toMatchObject({
        items: expect.any(Array),
      });
    },
    FUZZ_TIMEOUT_MS,
  );

  it.each([
    ['a NUL', 'a\u0000b'],
    ['a lone surrogate', 'x\ud800'],
    ['2,000 characters', 'k'.repeat(2000)],
    ['nothing', ''],
  ])(
    'takes a valid mesh event whose Nats-Msg-Id holds %s without an unexpected error',
    async (_what, eventId) => {
      // A valid TaskUpdated (a fixed seed keeps it the same), so the sessions service's follower
      // runs and records the event id it was given (processOnce).
      const [change] = fc.sample(
        schemaValue(TaskUpdated.schema, { mild: true }).filter(
          (v) => TaskUpdated.schema.safeParse(v).success,
        ),
        {
          numRuns: 1,
          seed: 17,
        },
      );
      await bus.js.publish(
        bus.subject(TaskUpdated.subject),
        new TextEncoder().encode(JSON.stringify(change)),
        {
          msgID: eventId,
        },
      );
      await expectEventually(
        async () => {
          expect(await unexpectedCounted()).toBe(0);
          expect(await unfinished()).toEqual([]);
        },
        { timeoutMs: 15_000, intervalMs: 50 },
      );
    },
    30_000,
  );

  it('let nothing reach the process-level handlers', () => {
    expect(recorder.faults).toEqual([]);
  });
});

function isValid(event: EventDefinition, body: string): boolean {
  try {
    return event.schema.safeParse(JSON.parse(body)).success;
  } catch {
    return false;
  }
}
