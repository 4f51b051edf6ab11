import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createJwtVerifier, LocalIssuer, SCOPES } from '@orgmesh/auth';
import { allContracts, GetDirectory, ListSessions, ListTasks, type RpcDefinition } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import {
  describeBody,
  expectEventually,
  fixedHostileBodies,
  fuzzBudget,
  fuzzEdge,
  hostileBody,
  hostileHeaders,
  recordProcessFaults,
  replyProblem,
  requestRaw,
  type HostileBody,
  type TestContext,
} from '@orgmesh/testing';
// The three services that serve RPCs run in this one test, each the real app against the same
// NATS namespace and database, so the suite covers every RPC contract with one client.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { startTestSessions } from '../../sessions/test/sessions-harness.js';
// eslint-disable-next-line @nx/enforce-module-boundaries
import type { SessionsApp } from '../../sessions/src/sessions.app.js';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { startTestRegistry } from '../../registry/test/registry-harness.js';
// eslint-disable-next-line @nx/enforce-module-boundaries
import type { RegistryApp } from '../../registry/src/registry.app.js';
import type { MeshRouterApp } from '../src/mesh-router.app.js';
import { bearer, clientBus, createTestContext, startTestMeshRouter } from './mesh-harness.js';

/** A fuzz test's timeout: its time budget in `npm run fuzz` (FUZZ_LONG=1), plus a minute for the rest. */
const FUZZ_TIMEOUT_MS = (fuzzBudget(1).timeLimitMs ?? 0) + 60_000;

/** Which service answers a context's RPCs; a contract of any other context fails the suite until it is added here. */
const SERVING_CONTEXTS = ['sessions', 'registry', 'mesh'] as const;
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
    sessions = await startTestSessions(ctx);
    mesh = await startTestMeshRouter(ctx, issuer, { startJobs: false });
    bus = await clientBus(ctx, 'bus-fuzz-client');
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
        { ciRuns: 40 * rpcs.size },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it('leaves every service answering normal requests', async () => {
    await expect(bus.request(ListSessions, { limit: 1 })).resolves.toMatchObject({
      items: expect.any(Array),
    });
    await expect(bus.request(GetDirectory, {})).resolves.toMatchObject({ people: expect.any(Array) });
    await expect(bus.request(ListTasks, { limit: 1 }, { authorization: agentToken })).resolves.toMatchObject({
      items: expect.any(Array),
    });
  });

  it('left no unexpected error counted and nothing dead-lettered once the consumers caught up', async () => {
    // What the fuzz stored reaches the services' event consumers (sessions follows the mesh): they
    // must take all of it without an unexpected error or a dead letter.
    await expectEventually(
      async () => {
        for await (const stream of bus.jsm.streams.list()) {
          if (!stream.config.name.endsWith(ctx.nameSuffix)) continue;
          for await (const consumer of bus.jsm.consumers.list(stream.config.name)) {
            expect({
              consumer: consumer.name,
              pending: consumer.num_pending + consumer.num_ack_pending,
            }).toEqual({
              consumer: consumer.name,
              pending: 0,
            });
          }
        }
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const deadLetters = await bus.jsm.streams
      .info(bus.deadLetterStreamName())
      .then((info) => info.state.messages)
      .catch(() => 0);
    expect(deadLetters).toBe(0);
    for (const app of [sessions, registry, mesh]) {
      const scraped = await (await fetch(`http://127.0.0.1:${app.health.port}/metrics`)).text();
      const counted = [...scraped.matchAll(/^orgmesh_unexpected_errors_total\{[^}]*\} (\d+)/gm)].map((m) =>
        Number(m[1]),
      );
      expect({ port: app.health.port, unexpected: counted.reduce((a, b) => a + b, 0) }).toEqual({
        port: app.health.port,
        unexpected: 0,
      });
    }
  }, 60_000);

  it('let nothing reach the process-level handlers', () => {
    expect(recorder.faults).toEqual([]);
  });
});
