import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { roleInboxDurable, type Task } from '@orgmesh/contracts';
import {
  createLogger,
  injectTraceHeaders,
  metricConventionViolations,
  startTracing,
  UNEXPECTED_ERRORS,
  type Logger,
  type Tracing,
} from '@orgmesh/telemetry';
import {
  createTestContext,
  expectEventually,
  startTestAgent,
  type TestAgent,
  type TestContext,
} from '@orgmesh/testing';
// Every service runs in-process, for real, in one trace provider: the spans of all of them land in
// one in-memory exporter, as they would in one collector.
import {
  testConfig as sessionsTestConfig,
  startSessionsApp,
  type SessionsApp,
  MESH_FOLLOW_DURABLE,
} from '@orgmesh/sessions/testing';
import {
  testConfig as meshTestConfig,
  startMeshRouterApp,
  type MeshRouterApp,
} from '@orgmesh/mesh-router/testing';
import {
  testConfig as registryTestConfig,
  startRegistryApp,
  type RegistryApp,
} from '@orgmesh/registry/testing';
import {
  FakeUpstream,
  createPrivacyProxy,
  type PrivacyProxy,
  JoseTokenVerifier,
  RecordingAuditSink,
  FileProfileSource,
} from '@orgmesh/privacy-proxy/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { api, devToken, gatewayTestConfig } from './gateway-harness.js';
import { startGatewayApp } from '../src/gateway.app.js';

/** Personal data planted in the task's input. None of it may appear in logs, spans or metrics. */
const SEEDED = {
  name: 'Marisol Okonkwo',
  email: 'marisol.okonkwo@example.org',
  ssn: '123-45-6789',
  iban: 'DE89 3704 0044 0532 0130 00',
} as const;
/** The forms a value could take on its way: as given, and the IBAN without its spaces. */
const SEEDED_FORMS = [...Object.values(SEEDED), SEEDED.iban.replaceAll(' ', '')];

/** One sample's value from Prometheus text, by series name and a subset of its labels. */
function sample(text: string, series: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== series) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

/** The spans of a trace as an indented tree (printed when a structure assertion fails). */
function tree(spans: ReadableSpan[]): string {
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  const out: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const span of spans.filter((s) =>
      parent ? s.parentSpanContext?.spanId === parent : !ids.has(s.parentSpanContext?.spanId ?? ''),
    )) {
      out.push(`${'  '.repeat(depth)}${SpanKind[span.kind]} ${span.name}`);
      walk(span.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return out.join('\n');
}

interface CapturedLog {
  readonly lines: string[];
  readonly logger: Logger;
}

/** A service logger at the most verbose level, writing into memory (the pino destination). */
function capturedLogger(service: string): CapturedLog {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger({ service, level: 'trace', destination }) };
}

describe('one request through gateway, mesh router, agent, privacy proxy and sessions (OpenTelemetry in every service)', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let ctx: TestContext;
  let gateway: GatewayApp;
  let registry: RegistryApp;
  let mesh: MeshRouterApp;
  let sessions: SessionsApp;
  let proxy: PrivacyProxy;
  let proxyUrl: string;
  let upstream: FakeUpstream;
  let agent: TestAgent;
  const logs: Record<string, CapturedLog> = {};
  const answers: string[] = [];
  let created: Task;

  beforeAll(async () => {
    // First, as main.ts does: every span from here on is recorded.
    tracing = startTracing({ service: 'orgmesh-in-process', exporter });
    for (const service of ['gateway', 'registry', 'mesh-router', 'sessions', 'privacy-proxy', 'legal-agent'])
      logs[service] = capturedLogger(service);
    const log = (service: string) => (logs[service] as CapturedLog).logger;
    ctx = await createTestContext();
    gateway = await startGatewayApp(gatewayTestConfig(ctx), { logger: log('gateway') });
    registry = await startRegistryApp(
      registryTestConfig(ctx, { REGISTRY_AUTH: 'on', AUTH_ISSUER: gateway.url }),
      { logger: log('registry'), migrate: true, startJobs: false },
    );
    mesh = await startMeshRouterApp(meshTestConfig(ctx, { AUTH_ISSUER: gateway.url }), {
      logger: log('mesh-router'),
      migrate: true,
      startJobs: false,
    });
    // Sessions' health port on every interface, as in a container; the others keep the default.
    sessions = await startSessionsApp(sessionsTestConfig(ctx, { SESSIONS_HTTP_HOST: '0.0.0.0' }), {
      logger: log('sessions'),
      migrate: true,
      startJobs: false,
    });
    upstream = await FakeUpstream.start();
    proxy = createPrivacyProxy({
      openai: { url: upstream.openaiUrl, key: 'sk-upstream-secret' },
      verifier: JoseTokenVerifier.fromJwksUrl(`${gateway.url}/.well-known/jwks.json`, {
        issuer: gateway.url,
        audience: 'orgmesh',
      }),
      profiles: FileProfileSource.fromObject({
        profiles: { legal: { mode: 'mask' } },
        directory: [{ name: SEEDED.name, email: SEEDED.email, userId: 'u-7001' }],
      }),
      hmacKey: 'telemetry-test-hmac-key-0123456789abcdef',
      audit: new RecordingAuditSink(),
      logger: log('privacy-proxy'),
    });
    proxyUrl = await proxy.listen(0);
    // The Legal agent asks its model (through the proxy, continuing the task's trace) and completes the task.
    const legalToken = await devToken(gateway, 'legal-agent');
    agent = await startTestAgent({
      natsUrl: ctx.natsUrl,
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      role: 'legal',
      agentId: 'legal-agent',
      token: legalToken,
      logger: log('legal-agent'),
      behaviour: {
        kind: 'custom',
        async handle(task, self) {
          await self.update(task.id, 'working');
          const response = await fetch(`${proxyUrl}/v1/chat/completions`, {
            method: 'POST',
            headers: injectTraceHeaders({
              authorization: self.authorization,
              'content-type': 'application/json',
            }),
            body: JSON.stringify({
              model: 'gpt-test',
              messages: [{ role: 'user', content: `Review this request: ${JSON.stringify(task.input)}` }],
            }),
          });
          const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
          const answer = body.choices[0]?.message.content ?? '';
          answers.push(answer);
          await self.update(task.id, 'completed', { result: { review: answer } });
        },
      },
    });

    const managerToken = await devToken(gateway, 'manager-agent');
    const response = await api<Task>(gateway, 'POST', '/v1/tasks', {
      token: managerToken,
      body: {
        to: 'legal',
        type: 'contract-review',
        input: {
          counterparty: `${SEEDED.name} <${SEEDED.email}>`,
          note: `Payee SSN ${SEEDED.ssn}, pay to IBAN ${SEEDED.iban}.`,
        },
      },
    });
    expect(response.status).toBe(202);
    created = response.body;
    // Done when Sessions has followed the task to its end (the last hop of the trace).
    await expectEventually(
      async () => {
        const task = await api<Task>(gateway, 'GET', `/v1/tasks/${created.id}`, { token: managerToken });
        expect(task.body.state).toBe('completed');
        expect(followerSpans().length).toBeGreaterThanOrEqual(3);
      },
      { timeoutMs: 20_000 },
    );
  });

  afterAll(async () => {
    await agent?.stop();
    await gateway?.close();
    await mesh?.close();
    await registry?.close();
    await sessions?.close();
    await proxy?.close();
    await upstream?.close();
    await ctx?.dispose();
    await tracing?.shutdown();
  });

  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  const gatewaySpan = (): ReadableSpan | undefined =>
    spans().find(
      (s) =>
        s.kind === SpanKind.SERVER &&
        s.name === 'POST /v1/tasks' &&
        s.instrumentationScope.name === '@orgmesh/gateway',
    );
  const inTrace = (): ReadableSpan[] => {
    const traceId = gatewaySpan()?.spanContext().traceId;
    return spans().filter((s) => s.spanContext().traceId === traceId);
  };
  /** Sessions' mesh-follow consumer spans of this trace (task-created, working, completed). */
  const followerSpans = (): ReadableSpan[] =>
    inTrace().filter(
      (s) =>
        s.kind === SpanKind.CONSUMER &&
        s.attributes['messaging.consumer.group.name'] === sessions.bus.durableName(MESH_FOLLOW_DURABLE),
    );
  /** The children of `parent` (in this trace) whose name satisfies `name`, oldest first. */
  const childrenOf = (parent: ReadableSpan | undefined, name: (n: string) => boolean): ReadableSpan[] => {
    expect(parent).toBeDefined();
    const id = parent?.spanContext().spanId;
    return inTrace()
      .filter((s) => s.parentSpanContext?.spanId === id && name(s.name))
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  };
  const onlyChild = (parent: ReadableSpan | undefined, name: (n: string) => boolean): ReadableSpan => {
    const found = childrenOf(parent, name);
    expect(found).toHaveLength(1);
    return found[0] as ReadableSpan;
  };
  const endsWith = (suffix: string) => (name: string) => name.endsWith(suffix);
  const startsWith = (prefix: string) => (name: string) => name.startsWith(prefix);
  /**
   * An outbox event's PRODUCER span and the one CONSUMER span it led to. The relay may publish an
   * event a second time when the eager publish was slow (a second PRODUCER span under the same
   * parent); JetStream's duplicate window keeps that from being consumed twice, so exactly one
   * CONSUMER span must follow whichever publish landed.
   */
  const publishedAndTaken = (parent: ReadableSpan | undefined, subject: string, group?: string) => {
    const published = childrenOf(parent, endsWith(subject));
    expect(published.length).toBeGreaterThanOrEqual(1);
    expect(published.length).toBeLessThanOrEqual(2);
    for (const span of published) expect(span.kind).toBe(SpanKind.PRODUCER);
    // Other durables may take the same event (the gateway's A2A push delivery takes task-updated):
    // with `group`, the one consumer followed is that durable.
    const taken = published
      .flatMap((span) => childrenOf(span, startsWith('process ')))
      .filter((span) => group === undefined || span.attributes['messaging.consumer.group.name'] === group);
    expect(taken).toHaveLength(1);
    return { published: published[0] as ReadableSpan, taken: taken[0] as ReadableSpan };
  };

  it('forms one trace: gateway SERVER → NATS CLIENT → mesh SERVER → PRODUCER → agent CONSUMER → … → sessions CONSUMER', () => {
    try {
      expectOneTrace();
    } catch (error) {
      process.stderr.write(`the trace as recorded:\n${tree(inTrace())}\n`);
      throw error;
    }
  });

  function expectOneTrace(): void {
    const root = gatewaySpan();
    expect(root?.parentSpanContext).toBeUndefined();
    expect(root?.attributes).toMatchObject({ 'http.route': '/v1/tasks', 'http.response.status_code': 202 });

    // gateway → mesh: send-task over NATS request/reply.
    const createCall = onlyChild(root, endsWith('rpc.mesh.v1.send-task'));
    expect(createCall).toMatchObject({
      kind: SpanKind.CLIENT,
      name: `request ${ctx.subjectPrefix}rpc.mesh.v1.send-task`,
    });
    const createServe = onlyChild(createCall, startsWith('serve '));
    expect(createServe.kind).toBe(SpanKind.SERVER);
    // The mesh asks the registry for the policy, inside its own handling, and writes Postgres.
    const policyCall = onlyChild(createServe, endsWith('rpc.registry.v1.resolve-policy'));
    expect(onlyChild(policyCall, startsWith('serve ')).kind).toBe(SpanKind.SERVER);
    const meshDb = childrenOf(createServe, (n) => n === 'db.query' || n === 'db.transaction');
    expect(meshDb.length).toBeGreaterThan(0);
    expect(meshDb.every((s) => s.attributes['db.namespace'] === 'mesh')).toBe(true);

    // mesh → agent: the inbox delivery, published from the outbox with the create's context.
    const { taken } = publishedAndTaken(createServe, 'mesh.v1.inbox.legal');
    expect(taken.kind).toBe(SpanKind.CONSUMER);
    expect(taken.attributes['messaging.consumer.group.name']).toBe(
      agent.bus.durableName(roleInboxDurable('legal')),
    );

    // agent → privacy proxy → model: the LLM call continues the trace over HTTP.
    const proxyServer = onlyChild(taken, endsWith('/v1/chat/completions'));
    expect(proxyServer).toMatchObject({ kind: SpanKind.SERVER, name: 'POST /v1/chat/completions' });
    expect(proxyServer.instrumentationScope.name).toBe('@orgmesh/privacy-proxy');
    const modelCall = onlyChild(proxyServer, (n) => n === 'POST');
    expect(modelCall.kind).toBe(SpanKind.CLIENT);
    expect(modelCall.attributes['http.response.status_code']).toBe(200);
    // The proxy's own span stays in the trace, but no trace header reaches the provider: one trace id
    // per workflow would let it link the workflow's model calls across roles (issue 19).
    expect(modelCall.spanContext().traceId).toBe(proxyServer.spanContext().traceId);
    expect(upstream.requests[0]?.headers['traceparent']).toBeUndefined();

    // agent → mesh: working, then completed; each update publishes task-updated, which Sessions follows.
    const updates = childrenOf(taken, endsWith('rpc.mesh.v1.update-task'));
    expect(updates.map((s) => s.kind)).toEqual([SpanKind.CLIENT, SpanKind.CLIENT]);
    for (const update of updates) {
      const serve = onlyChild(update, startsWith('serve '));
      const { taken: followed } = publishedAndTaken(
        serve,
        'mesh.v1.task-updated',
        sessions.bus.durableName(MESH_FOLLOW_DURABLE),
      );
      expect(followed.kind).toBe(SpanKind.CONSUMER);
      expect(followed.attributes['messaging.consumer.group.name']).toBe(
        sessions.bus.durableName(MESH_FOLLOW_DURABLE),
      );
      // Sessions' own work (processOnce transaction) is part of the same trace.
      const sessionsDb = childrenOf(followed, (n) => n === 'db.transaction');
      expect(sessionsDb.length).toBeGreaterThan(0);
      expect(sessionsDb.every((s) => s.attributes['db.namespace'] === 'sessions')).toBe(true);
    }
    // task-created is followed too, as a sibling of the delivery under the create's handling.
    expect(publishedAndTaken(createServe, 'mesh.v1.task-created').taken.kind).toBe(SpanKind.CONSUMER);

    // One trace: every span of the chain above has the gateway span's trace id (inTrace is by trace id),
    // and every parent in the trace is itself a span of the trace, or the gateway span is the root.
    const trace = inTrace();
    const ids = new Set(trace.map((s) => s.spanContext().spanId));
    const orphans = trace.filter((s) => s !== root && !ids.has(s.parentSpanContext?.spanId ?? ''));
    expect(orphans.map((s) => s.name)).toEqual([]);
    expect(followerSpans().length).toBeGreaterThanOrEqual(3);
  }

  it('JSON log lines written inside handlers carry the trace id of the request', () => {
    const traceId = gatewaySpan()?.spanContext().traceId;
    const spanIds = new Set(inTrace().map((s) => s.spanContext().spanId));
    const parsed = (service: string) =>
      (logs[service] as CapturedLog).lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    // Four hops away from the HTTP request: Sessions following the mesh.
    const followed = parsed('sessions').filter((l) => l['msg'] === 'session follows the mesh');
    expect(followed.length).toBeGreaterThan(0);
    for (const line of followed) {
      expect(line['traceId']).toBe(traceId);
      expect(spanIds.has(line['spanId'] as string)).toBe(true);
    }
    // The proxy's request line is written in its SERVER span.
    const proxyLine = parsed('privacy-proxy').find((l) => l['msg'] === 'request completed');
    const proxyServer = inTrace().find((s) => s.name === 'POST /v1/chat/completions');
    expect(proxyLine).toMatchObject({ traceId, spanId: proxyServer?.spanContext().spanId });
  });

  it('serves the metrics series on every service’s /metrics', async () => {
    const text = await metricsOf();
    // Task transitions (mesh, counted as they commit), RPC handler latency (every service serving RPCs), outbox lag (every
    // service with an outbox), consumer redeliveries, transitions by event (sessions), request
    // latency (gateway, proxy) and redactions by entity type (proxy).
    expect(
      sample(text.mesh, 'orgmesh_mesh_task_transitions_total', { kind: 'task', state: 'completed' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text.mesh, 'orgmesh_rpc_server_duration_seconds_count', {
        subject: 'rpc.mesh.v1.send-task',
        result: 'ok',
      }),
    ).toBe(1);
    expect(
      sample(text.mesh, 'orgmesh_rpc_server_duration_seconds_count', {
        subject: 'rpc.mesh.v1.update-task',
        result: 'ok',
      }),
    ).toBe(2);
    expect(
      sample(text.registry, 'orgmesh_rpc_server_duration_seconds_count', {
        subject: 'rpc.registry.v1.resolve-policy',
        result: 'ok',
      }),
    ).toBeGreaterThanOrEqual(1);
    for (const [service, schema] of [
      ['mesh', 'mesh'],
      ['sessions', 'sessions'],
      ['registry', 'registry'],
    ] as const)
      expect(sample(text[service], 'orgmesh_outbox_lag_seconds', { schema })).toBeGreaterThanOrEqual(0);
    // Declared only where they can be filled: the gateway serves no RPC and has no outbox.
    expect(text.gateway).not.toContain('orgmesh_rpc_server_duration_seconds');
    expect(text.gateway).not.toContain('orgmesh_outbox_lag_seconds');
    expect(text.sessions).toContain('# TYPE orgmesh_session_transitions_total counter');
    expect(
      sample(text.gateway, 'orgmesh_gateway_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/v1/tasks',
        status: '202',
      }),
    ).toBe(1);
    expect(
      sample(text.proxy, 'orgmesh_privacy_proxy_redactions_total', { entity_type: 'email', action: 'mask' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text.proxy, 'orgmesh_privacy_proxy_redactions_total', { entity_type: 'iban', action: 'mask' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(text.proxy, 'orgmesh_privacy_proxy_request_duration_seconds_count', {
        route: 'openai.chat.completions',
      }),
    ).toBe(1);
  });

  it('every service’s /metrics follows the naming rules once the request has crossed it', async () => {
    // Series the request above has no event for: bugs, refusals, upstream failures, gRPC calls,
    // background jobs (started with startJobs: false) and operations it does not make. Each name is
    // listed on purpose; any other series without a sample fails this test.
    const jobs = (service: string) => [
      `orgmesh_${service}_job_runs_total`,
      `orgmesh_${service}_job_affected_total`,
    ];
    const retention = ['orgmesh_retention_deleted_rows_total', 'orgmesh_retention_batch_duration_seconds'];
    const eventOnly = {
      all: [UNEXPECTED_ERRORS],
      gateway: ['orgmesh_gateway_grpc_request_duration_seconds'],
      registry: [
        'orgmesh_registry_org_imports_total',
        'orgmesh_registry_heartbeats_total',
        'orgmesh_callers_refused_total',
        ...jobs('registry'),
        ...retention,
      ],
      // The re-delivery sweep is a job too: nothing stays submitted here.
      mesh: [
        'orgmesh_callers_refused_total',
        'orgmesh_mesh_redeliveries_total',
        ...jobs('mesh'),
        ...retention,
      ],
      // Sessions follows the mesh's events here; nobody calls its apply-event RPC.
      sessions: [
        'orgmesh_session_transitions_total',
        'orgmesh_callers_refused_total',
        ...jobs('session'),
        ...retention,
      ],
      // The profile masks (no strict refusal), the prompt is text (nothing unscanned), the upstream answers.
      proxy: [
        'orgmesh_privacy_proxy_refusals_total',
        'orgmesh_privacy_proxy_unscanned_total',
        'orgmesh_privacy_proxy_upstream_errors_total',
      ],
    } satisfies Record<string, string[]>;
    const text = await metricsOf();
    const violations = Object.fromEntries(
      await Promise.all(
        (['gateway', 'registry', 'mesh', 'sessions', 'proxy'] as const).map(
          async (service) =>
            [
              service,
              await metricConventionViolations(text[service], {
                eventOnly: [...eventOnly.all, ...eventOnly[service]],
              }),
            ] as const,
        ),
      ),
    );
    expect(violations).toEqual({ gateway: [], registry: [], mesh: [], sessions: [], proxy: [] });
  });

  it('binds each health/metrics port where its *_HTTP_HOST says, loopback when unset', () => {
    expect(registry.health.host).toBe('127.0.0.1');
    expect(mesh.health.host).toBe('127.0.0.1');
    expect(sessions.health.host).toBe('0.0.0.0');
  });

  it('keeps every seeded personal value out of logs, span attributes and metrics, though the values crossed the system', async () => {
    // The values did travel: the task carries them, the agent's answer restored them, the model never saw them.
    expect(JSON.stringify(created.input)).toContain(SEEDED.ssn);
    expect(answers.join(' ')).toContain(SEEDED.email);
    const toModel = upstream.requests.map((r) => r.body).join('\n');
    expect(toModel.length).toBeGreaterThan(0);
    for (const value of SEEDED_FORMS) expect(toModel).not.toContain(value);

    const logText = Object.values(logs)
      .flatMap((l) => l.lines)
      .join('\n');
    const spanText = JSON.stringify(
      spans().map((s) => ({
        name: s.name,
        attributes: s.attributes,
        events: s.events,
        status: s.status,
        links: s.links,
        resource: s.resource.attributes,
      })),
    );
    const metricText = Object.values(await metricsOf()).join('\n');
    // The captures are real: each holds plenty (a capture that saw nothing would pass vacuously).
    expect(Object.values(logs).every((l) => l.lines.length > 0)).toBe(true);
    expect(spans().length).toBeGreaterThan(20);
    expect(metricText).toContain('orgmesh_mesh_task_transitions_total');
    for (const value of SEEDED_FORMS) {
      expect({ value, inLogs: logText.includes(value) }).toEqual({ value, inLogs: false });
      expect({ value, inSpans: spanText.includes(value) }).toEqual({ value, inSpans: false });
      expect({ value, inMetrics: metricText.includes(value) }).toEqual({ value, inMetrics: false });
    }
  });

  async function metricsOf(): Promise<
    Record<'gateway' | 'registry' | 'mesh' | 'sessions' | 'proxy', string>
  > {
    const get = async (url: string) => {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      return res.text();
    };
    return {
      gateway: await get(`${gateway.url}/metrics`),
      registry: await get(`http://127.0.0.1:${registry.health.port}/metrics`),
      mesh: await get(`http://127.0.0.1:${mesh.health.port}/metrics`),
      sessions: await get(`http://127.0.0.1:${sessions.health.port}/metrics`),
      proxy: await get(`${proxyUrl}/metrics`),
    };
  }
});
