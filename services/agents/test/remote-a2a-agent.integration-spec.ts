import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { StaticAccessTokenSource } from '@orgmesh/agent-sdk';
import { LocalIssuer } from '@orgmesh/auth';
import {
  AddTaskInput,
  AppError,
  CancelTask,
  GetAgent,
  GetTask,
  LoadRegistry,
  MaskText,
  RequestApproval,
  SendTask,
  type RegistrySourceFile,
  type Task,
} from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import {
  RecordingAuditSink,
  JoseTokenVerifier,
  createPrivacyProxy,
  type PrivacyProxy,
  RegistryProfileSource,
  NatsRegistryReader,
  serveTextPrivacy,
} from '@orgmesh/privacy-proxy/testing';
import { startTestMeshRouter } from '@orgmesh/mesh-router/testing';
import { demoFiles, withFile, startTestRegistry } from '@orgmesh/registry/testing';
import { loadRemoteAgentConfig } from '../src/remote/remote-agent.config.js';
import { startRemoteAgentApp, type RemoteAgentApp } from '../src/remote/remote-agent.app.js';
import {
  closedPort,
  startRemoteLegalAgent,
  startSilentServer,
  type RemoteLegalAgent,
} from './remote-a2a-server.js';

const logger = createLogger({
  service: 'remote-agent-test',
  level: process.env['TEST_LOG_LEVEL'] ?? 'silent',
});
const REMOTE_ID = 'outside-counsel-agent';

/** The agent file of a remote A2A agent of the Legal role. */
function remoteAgentFile(cardUrl: string, jwksUrl?: string, id = REMOTE_ID): string {
  return [
    `id: ${id}`,
    'role: legal',
    'display_name: Outside Counsel',
    'description: A law firm agent, reached over A2A.',
    'model:',
    '  provider: openai',
    '  name: gpt-4o-mini',
    'a2a:',
    `  card_url: ${cardUrl}`,
    ...(jwksUrl ? [`  jwks_url: ${jwksUrl}`] : []),
    '',
  ].join('\n');
}

/**
 * Issue 25 item 2: a remote A2A agent (a server built with the official SDK, here) as a mesh member.
 * Real registry, real mesh router, real NATS and Postgres; the bridge is the remote-agent process's
 * app, the sender a manager calling the mesh's SendTask with its token.
 */
describe('remote A2A agents as mesh members', () => {
  let ctx: TestContext;
  let issuer: LocalIssuer;
  let bus: MessageBus;
  let remote: RemoteLegalAgent;
  let demo: RegistrySourceFile[];
  let bridge: RemoteAgentApp | undefined;
  const closers: Array<() => Promise<unknown>> = [];
  /** The privacy proxy's bus, its mask/restore RPCs (stopped and served again by the fail-closed test). */
  let proxyBus: MessageBus;
  let proxy: PrivacyProxy;
  let textRpcs: Array<{ unsubscribe(): void }> = [];
  const audit = new RecordingAuditSink();
  const serveText = () => {
    textRpcs = serveTextPrivacy(proxyBus, {
      engine: proxy.engine,
      verifier: JoseTokenVerifier.fromLocalJwks(issuer.jwks, {
        issuer: issuer.issuer,
        audience: issuer.audience,
      }),
      hmacKey: 'remote-agent-test-placeholder-key-0123456789',
      audit,
      logger,
    });
  };

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    // Presence: an agent silent for 3 s is offline (the sweep looks every 500 ms).
    const registry = await startTestRegistry(ctx, {
      overrides: {
        REGISTRY_A2A_CARD_TIMEOUT: '1s',
        REGISTRY_PRESENCE_TIMEOUT: '3s',
        REGISTRY_PRESENCE_SWEEP_INTERVAL: '500ms',
      },
    });
    closers.push(() => registry.close());
    // The privacy proxy as deployed: profiles from the registry, the mask/restore RPCs on its own bus.
    proxyBus = await connectBus({
      url: ctx.natsUrl,
      name: 'privacy-proxy',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger,
    });
    closers.push(() => proxyBus.close());
    const profiles = new RegistryProfileSource(new NatsRegistryReader(proxyBus, 2_000), logger, {
      ttlMs: 600_000,
    });
    profiles.start();
    closers.push(async () => profiles.stop());
    proxy = createPrivacyProxy({
      verifier: JoseTokenVerifier.fromLocalJwks(issuer.jwks, {
        issuer: issuer.issuer,
        audience: issuer.audience,
      }),
      profiles,
      hmacKey: 'remote-agent-test-placeholder-key-0123456789',
      audit,
      logger,
    });
    closers.push(() => proxy.close());
    serveText();
    const mesh = await startTestMeshRouter(ctx, issuer);
    closers.push(() => mesh.close());
    bus = await connectBus({
      url: ctx.natsUrl,
      name: 'remote-agent-test',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger,
    });
    closers.push(() => bus.close());
    remote = await startRemoteLegalAgent();
    closers.push(() => remote.close());
    demo = await demoFiles();
  }, 120_000);

  afterAll(async () => {
    await bridge?.close();
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await ctx?.dispose();
  }, 60_000);

  async function load(files: RegistrySourceFile[]) {
    return bus.request(LoadRegistry, { files }, { timeoutMs: 15_000 });
  }

  async function refusal(files: RegistrySourceFile[]): Promise<AppError> {
    const error = await load(files).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof AppError)) throw new Error(`expected a refusal, got ${String(error)}`);
    return error;
  }

  async function bearer(sub: string, role: string): Promise<string> {
    return `Bearer ${await issuer.sign({ sub, role, scope: 'orgmesh:agent' })}`;
  }

  async function send(
    from: { sub: string; role: string },
    type: string,
    input: unknown,
    deadline?: string,
    to = 'legal',
  ) {
    return bus.request(
      SendTask,
      { to, type, input: input as never, ...(deadline ? { deadline } : {}) },
      { authorization: await bearer(from.sub, from.role), idempotencyKey: randomUUID() },
    );
  }

  async function task(id: string): Promise<Task> {
    return bus.request(
      GetTask,
      { id, includeHistory: true },
      { authorization: await bearer('manager-agent', 'manager') },
    );
  }

  describe('the registry refuses a remote agent with a line naming why', () => {
    it('a card URL that does not answer: connection refused, and no answer within the timeout', async () => {
      const port = await closedPort();
      const refused = await refusal(
        withFile(
          demo,
          `agents/${REMOTE_ID}.yaml`,
          remoteAgentFile(`http://127.0.0.1:${port}/.well-known/agent-card.json`),
        ),
      );
      expect(refused.code).toBe('validation_failed');
      expect(refused.message).toContain(
        `agents/${REMOTE_ID}.yaml: a2a.card_url: remote A2A agent refused: the card at http://127.0.0.1:${port}/.well-known/agent-card.json did not answer (ECONNREFUSED)`,
      );

      const silent = await startSilentServer();
      try {
        const started = Date.now();
        const timedOut = await refusal(
          withFile(
            demo,
            `agents/${REMOTE_ID}.yaml`,
            remoteAgentFile(`${silent.url}/.well-known/agent-card.json`),
          ),
        );
        expect(timedOut.message).toContain(
          `remote A2A agent refused: the card at ${silent.url}/.well-known/agent-card.json did not answer within 1000 ms`,
        );
        expect(Date.now() - started).toBeLessThan(5_000);
      } finally {
        await silent.close();
      }
      // Nothing was stored: the agent is unknown.
      await expect(bus.request(GetAgent, { agentId: REMOTE_ID })).rejects.toMatchObject({
        code: 'agent_not_found',
      });
    });

    it('a card whose signature fails: altered after signing, or verified against a pinned JWKS without its key', async () => {
      const tampered = await refusal(
        withFile(demo, `agents/${REMOTE_ID}.yaml`, remoteAgentFile(remote.tamperedCardUrl)),
      );
      expect(tampered.message).toContain(
        `agents/${REMOTE_ID}.yaml: a2a.card_url: remote A2A agent refused: card signature does not verify: signature 1 does not match the card (altered card or wrong key)`,
      );
      // A pinned key set that does not hold the card's key: another agent's.
      const other = await startRemoteLegalAgent();
      try {
        const pinned = await refusal(
          withFile(demo, `agents/${REMOTE_ID}.yaml`, remoteAgentFile(remote.cardUrl, other.jwksUrl)),
        );
        expect(pinned.message).toMatch(
          new RegExp(
            `card signature does not verify: signature 1 key \\S+ is not in ${other.jwksUrl.replace(/[.]/g, '\\.')}`,
          ),
        );
      } finally {
        await other.close();
      }
      await expect(bus.request(GetAgent, { agentId: REMOTE_ID })).rejects.toMatchObject({
        code: 'agent_not_found',
      });
    });
  });

  describe('a remote A2A agent registered for the Legal role', () => {
    /** The files of the version the registry serves. */
    let registered: RegistrySourceFile[];
    const bridges: RemoteAgentApp[] = [];
    /** The second remote agent (no streaming, HTTP+JSON), stopped by the last test. */
    let plain: RemoteLegalAgent | undefined;
    afterAll(async () => {
      for (const other of bridges) await other.close();
    });

    beforeAll(async () => {
      registered = withFile(demo, `agents/${REMOTE_ID}.yaml`, remoteAgentFile(remote.cardUrl));
      const loaded = await load(registered);
      expect(loaded.changed).toBe(true);
      const { agent } = await bus.request(GetAgent, { agentId: REMOTE_ID });
      expect(agent.a2a).toEqual({ cardUrl: remote.cardUrl });
      bridge = await startRemoteAgentApp(
        loadRemoteAgentConfig({
          AGENT_ID: REMOTE_ID,
          NATS_URL: ctx.natsUrl,
          NATS_SUBJECT_PREFIX: ctx.subjectPrefix,
          NATS_NAME_SUFFIX: ctx.nameSuffix,
          AGENTS_HTTP_PORT: '0',
          A2A_POLL_INTERVAL: '100ms',
          A2A_LIVENESS_INTERVAL: '300ms',
          A2A_LIVENESS_TIMEOUT: '500ms',
          AGENT_HEARTBEAT_INTERVAL: '1s',
          AGENT_SHUTDOWN_GRACE: '1s',
          AGENT_MAX_DELIVER: '2',
          LOG_LEVEL: 'silent',
        }),
        {
          logger,
          tokens: new StaticAccessTokenSource(
            await issuer.sign({ sub: REMOTE_ID, role: 'legal', scope: 'orgmesh:agent' }),
          ),
        },
      );
      expect(bridge.card).toEqual({ name: 'Outside Counsel', signature: 'signed' });
    }, 60_000);

    it('takes a Legal task from the mesh: the remote answer completes it as its result', async () => {
      const sent = await send({ sub: 'manager-agent', role: 'manager' }, 'sox-review', {
        text: 'Is a $125,000 Q1 engineering budget request compliant?',
        amount: 125_000,
      });
      expect(sent.state).toBe('submitted');
      await expectEventually(async () => expect((await task(sent.id)).state).toBe('completed'), {
        timeoutMs: 20_000,
      });
      const done = await task(sent.id);
      expect(done.assignee).toMatchObject({ agentId: REMOTE_ID, role: 'legal' });
      expect(done.result).toMatchObject({
        text: 'Approve subject to a SOX 404 review: 125000 is above the $100,000 threshold (question: Is a $125,000 Q1 engineering budget request compliant?)',
        data: [{ recommendation: 'approve', rule: 'SOX 404' }],
        a2a: { agent: 'Outside Counsel' },
      });
      expect((done.result as { a2a: { taskId: string } }).a2a.taskId).toMatch(/^[0-9a-f-]{36}$/);
      expect(done.history?.map((h) => h.to)).toEqual(['submitted', 'working', 'completed']);
      // What the remote agent received: the task's text, its input as data, the mesh ids.
      const message = remote.received.find(
        (m) => (m.metadata?.['orgmesh'] as { taskId?: string })?.taskId === sent.id,
      );
      expect(message?.messageId).toBe(sent.id);
      expect(message?.metadata?.['orgmesh']).toMatchObject({
        type: 'sox-review',
        fromRole: 'manager',
        contextId: sent.contextId,
      });
    });

    it('is present while its card answers: the bridge heartbeats for it, with the declared config (no drift)', async () => {
      await expectEventually(
        async () => {
          const { presence } = await bus.request(GetAgent, { agentId: REMOTE_ID });
          expect(presence).toMatchObject({ online: true, drift: false });
        },
        { timeoutMs: 10_000 },
      );
      expect(bridge!.agent.consuming).toBe(true);
    });

    it('pseudonymises the task input before it leaves (the remote agent sees placeholders) and restores them in its answer', async () => {
      const email = 'maria.gonzalez@example.org';
      const question = `Is a $125,000 budget request from ${email} compliant?`;
      const sent = await send({ sub: 'manager-agent', role: 'manager' }, 'sox-review', {
        text: question,
        amount: 125_000,
        requester: { email },
      });
      await expectEventually(async () => expect((await task(sent.id)).state).toBe('completed'), {
        timeoutMs: 20_000,
      });
      const message = remote.received.find(
        (m) => (m.metadata?.['orgmesh'] as { taskId?: string })?.taskId === sent.id,
      );
      expect(message).toBeDefined();
      // Nowhere in what the remote agent received: its text part, its data part, its metadata.
      const seen = JSON.stringify(message);
      expect(seen).not.toContain(email);
      const placeholder = /\[\[EMAIL_[0-9a-f]{8}\]\]/.exec(seen)?.[0];
      expect(placeholder).toBeDefined();
      const textPart = message!.parts.find((p) => p.content?.$case === 'text');
      expect(textPart?.content?.value).toBe(`Is a $125,000 budget request from ${placeholder} compliant?`);
      const dataPart = message!.parts.find((p) => p.content?.$case === 'data');
      expect(dataPart?.content?.value).toEqual({
        text: `Is a $125,000 budget request from ${placeholder} compliant?`,
        amount: 125_000,
        requester: { email: placeholder },
      });
      // The remote answer quoted the placeholder; the mesh task's result has the value back.
      const done = await task(sent.id);
      expect(done.result).toMatchObject({
        text: `Approve subject to a SOX 404 review: 125000 is above the $100,000 threshold (question: ${question})`,
      });
      expect(JSON.stringify(done.result)).not.toContain('[[EMAIL_');
      // Audited as a model request of the role would be: counts, never values.
      const event = audit.events.find((e) => e.endpoint === 'rpc.mask-text' && e.agentId === REMOTE_ID);
      expect(event).toMatchObject({
        role: 'legal',
        mode: 'mask',
        outcome: 'masked',
        maskedCounts: { email: 2 },
      });
      expect(JSON.stringify(audit.events)).not.toContain(email);
    });

    it("the role profile's strict types refuse as for model calls: a Legal task holding an SSN fails and nothing is sent", async () => {
      const before = remote.received.length;
      const sent = await send({ sub: 'manager-agent', role: 'manager' }, 'sox-review', {
        text: 'Check the contractor with SSN 123-45-6789.',
        amount: 1,
      });
      await expectEventually(async () => expect((await task(sent.id)).state).toBe('failed'), {
        timeoutMs: 20_000,
      });
      expect((await task(sent.id)).reason).toBe(
        'not sent to Outside Counsel: request refused by the privacy policy of role legal: it contains ssn',
      );
      expect(remote.received.length).toBe(before);
    });

    it('fails closed: without the privacy proxy nothing is sent; the delivery is retried, then the task fails saying why', async () => {
      for (const sub of textRpcs) sub.unsubscribe();
      try {
        const before = remote.received.length;
        const sent = await send({ sub: 'manager-agent', role: 'manager' }, 'sox-review', {
          text: 'Is a $5,000 purchase by maria.gonzalez@example.org compliant?',
          amount: 5_000,
        });
        await expectEventually(async () => expect((await task(sent.id)).state).toBe('failed'), {
          timeoutMs: 20_000,
        });
        expect((await task(sent.id)).reason).toMatch(
          /^unavailable: the task input was not sent to Outside Counsel: the privacy proxy did not mask it: /,
        );
        expect(remote.received.length).toBe(before);
      } finally {
        serveText();
      }
    });

    it('masks object keys like strings: an email used as a key reaches the remote agent as a placeholder and comes back restored', async () => {
      const email = 'maria.gonzalez@example.org';
      const sent = await send({ sub: 'manager-agent', role: 'manager' }, 'sox-review', {
        text: 'Review the parties of a $5,000 purchase.',
        amount: 5_000,
        parties: { [email]: 'signatory' },
      });
      await expectEventually(async () => expect((await task(sent.id)).state).toBe('completed'), {
        timeoutMs: 20_000,
      });
      const message = remote.received.find(
        (m) => (m.metadata?.['orgmesh'] as { taskId?: string })?.taskId === sent.id,
      );
      expect(message).toBeDefined();
      expect(JSON.stringify(message)).not.toContain(email);
      const dataPart = message!.parts.find((p) => p.content?.$case === 'data');
      const parties = (dataPart?.content?.value as { parties: Record<string, string> }).parties;
      expect(Object.keys(parties)).toHaveLength(1);
      expect(Object.keys(parties)[0]).toMatch(/^\[\[EMAIL_[0-9a-f]{8}\]\]$/);
      expect(Object.values(parties)).toEqual(['signatory']);
      // The remote answer named the party by its (masked) key; the mesh task's result has the value back.
      const done = await task(sent.id);
      expect(done.result).toMatchObject({
        data: [{ recommendation: 'approve', rule: 'none', parties: { [email]: 'reviewed' } }],
      });
      expect(JSON.stringify(done.result)).not.toContain('[[EMAIL_');
    });

    it('fails closed on a number holding personal data (a placeholder cannot replace a number): nothing is sent, the reason names its path and type', async () => {
      // Under the demo's Legal profile an SSN is strict: the proxy refuses the whole input.
      const before = remote.received.length;
      const strict = await send({ sub: 'manager-agent', role: 'manager' }, 'sox-review', {
        text: 'Check the contractor.',
        contractor: { ssn: 512447391 },
      });
      await expectEventually(async () => expect((await task(strict.id)).state).toBe('failed'), {
        timeoutMs: 20_000,
      });
      expect((await task(strict.id)).reason).toBe(
        'not sent to Outside Counsel: request refused by the privacy policy of role legal: it contains ssn',
      );
      // A profile that masks SSNs: the string would go out masked, the number cannot.
      const legal = registered.find((f) => f.path === 'profiles/legal.yaml')!;
      const masking = legal.content.replace('ssn: strict', 'ssn: mask');
      expect(masking).not.toBe(legal.content);
      await expect(load(withFile(registered, 'profiles/legal.yaml', masking))).resolves.toMatchObject({
        changed: true,
      });
      try {
        const bridgeToken = await bearer(REMOTE_ID, 'legal');
        await expectEventually(
          async () => {
            const masked = await bus.request(
              MaskText,
              { texts: ['SSN 123-45-6789'] },
              { authorization: bridgeToken, timeoutMs: 2_000 },
            );
            expect(masked.texts[0]).toMatch(/^SSN \[\[SSN_[0-9a-f]{8}\]\]$/);
          },
          { timeoutMs: 15_000 },
        );
        const sent = await send({ sub: 'manager-agent', role: 'manager' }, 'sox-review', {
          text: 'Check the contractor with SSN 123-45-6789.',
          amount: 1,
          contractor: { ssn: 512447391, 'maria.gonzalez@example.org': 7 },
        });
        await expectEventually(async () => expect((await task(sent.id)).state).toBe('failed'), {
          timeoutMs: 20_000,
        });
        const reason = (await task(sent.id)).reason!;
        expect(reason).toBe(
          'not sent to Outside Counsel: personal data in a number, which a placeholder cannot replace: $.contractor.ssn (ssn)',
        );
        expect(reason).not.toContain('512447391');
        expect(remote.received.length).toBe(before);
      } finally {
        await expect(load(registered)).resolves.toMatchObject({ changed: true });
      }
    }, 60_000);

    it("continues the remote task with the sender's added input (masked), and completes on its answer", async () => {
      const email = 'maria.gonzalez@example.org';
      const sent = await send(
        { sub: 'manager-agent', role: 'manager' },
        'sox-review',
        { text: 'Is this compliant?' },
        new Date(Date.now() + 60_000).toISOString(),
      );
      await expectEventually(async () => expect((await task(sent.id)).state).toBe('input-required'), {
        timeoutMs: 10_000,
      });
      expect((await task(sent.id)).reason).toBe('Outside Counsel asks: What is the amount of the request?');
      const question = `$40,000, requested by ${email}.`;
      const continued = await bus.request(
        AddTaskInput,
        { id: sent.id, input: { text: question, amount: 40_000 } },
        { authorization: await bearer('manager-agent', 'manager'), idempotencyKey: randomUUID() },
      );
      expect(continued.state).toBe('working');
      await expectEventually(async () => expect((await task(sent.id)).state).toBe('completed'), {
        timeoutMs: 20_000,
      });
      const messages = remote.received.filter(
        (m) => (m.metadata?.['orgmesh'] as { taskId?: string })?.taskId === sent.id,
      );
      expect(messages).toHaveLength(2);
      const [first, second] = messages;
      const done = await task(sent.id);
      const remoteTaskId = (done.result as { a2a: { taskId: string } }).a2a.taskId;
      // The same remote task, continued: its id and context, a message id of the turn.
      expect(first!.messageId).toBe(sent.id);
      expect(second!.taskId).toBe(remoteTaskId);
      expect(second!.contextId).not.toBe('');
      expect(second!.messageId).toBe(`${sent.id}@v${continued.version}`);
      expect(JSON.stringify(second)).not.toContain(email);
      const placeholder = /\[\[EMAIL_[0-9a-f]{8}\]\]/.exec(JSON.stringify(second))?.[0];
      expect(placeholder).toBeDefined();
      expect(done.result).toMatchObject({
        text: `Approve: 40000 is under the $100,000 SOX threshold (question: ${question})`,
        data: [{ recommendation: 'approve', rule: 'none' }],
      });
      expect(done.history?.map((h) => h.to)).toEqual([
        'submitted',
        'working',
        'input-required',
        'working',
        'completed',
      ]);
    }, 60_000);

    it('a cancel of the mesh task reaches the remote task within a second (the bridge hears it, it does not wait for its next report)', async () => {
      const sent = await send(
        { sub: 'manager-agent', role: 'manager' },
        'slow',
        { text: 'Take your time.' },
        new Date(Date.now() + 60_000).toISOString(),
      );
      await expectEventually(
        () =>
          expect(
            remote.received.some((m) => (m.metadata?.['orgmesh'] as { taskId?: string })?.taskId === sent.id),
          ).toBe(true),
        { timeoutMs: 10_000 },
      );
      // The remote task's first event reaches the bridge (it needs the remote task's id to cancel it);
      // the latency measured starts with the cancel.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(remote.canceled).not.toContain(sent.id);
      const started = Date.now();
      await bus.request(
        CancelTask,
        { id: sent.id, reason: 'no longer needed' },
        { authorization: await bearer('manager-agent', 'manager'), idempotencyKey: randomUUID() },
      );
      await expectEventually(() => expect(remote.canceled).toContain(sent.id), {
        timeoutMs: 5_000,
        intervalMs: 20,
      });
      expect(Date.now() - started).toBeLessThan(1_000);
      // The bridge reports nothing over the cancel: the mesh task stays canceled, with the sender's reason.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await task(sent.id)).toMatchObject({ state: 'canceled', reason: 'no longer needed' });
    });

    it('policy applies as for local agents: a role not allowed to send Legal tasks is refused before anything reaches the remote agent', async () => {
      const before = remote.received.length;
      await expect(
        send({ sub: 'finance-agent', role: 'finance' }, 'sox-review', { amount: 1 }),
      ).rejects.toMatchObject({
        code: 'policy_denied',
      });
      expect(remote.received.length).toBe(before);
    });

    it("the remote agent's question makes the mesh task input-required with it; the deadline still applies", async () => {
      const deadline = new Date(Date.now() + 4_000).toISOString();
      const sent = await send(
        { sub: 'manager-agent', role: 'manager' },
        'sox-review',
        { text: 'Is this compliant?' },
        deadline,
      );
      await expectEventually(async () => expect((await task(sent.id)).state).toBe('input-required'), {
        timeoutMs: 10_000,
      });
      expect((await task(sent.id)).reason).toBe('Outside Counsel asks: What is the amount of the request?');
      // Nobody answers: it stays input-required (the bridge follows the remote task, completes nothing).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect((await task(sent.id)).state).toBe('input-required');
      // The deadline passes: the mesh task fails and the remote task is canceled.
      await expectEventually(async () => expect((await task(sent.id)).state).toBe('failed'), {
        timeoutMs: 10_000,
      });
      expect((await task(sent.id)).reason).toMatch(
        /^(Outside Counsel did not answer before the task's deadline|deadline_exceeded)$/,
      );
      await expectEventually(() => expect(remote.canceled).toContain(sent.id), { timeoutMs: 10_000 });
    }, 30_000);

    it("the mesh task's deadline bounds the remote call: past it the remote task is canceled and the mesh task fails", async () => {
      const deadline = new Date(Date.now() + 3_000).toISOString();
      const sent = await send(
        { sub: 'manager-agent', role: 'manager' },
        'slow',
        { text: 'Take your time.' },
        deadline,
      );
      await expectEventually(async () => expect((await task(sent.id)).state).toBe('working'), {
        timeoutMs: 10_000,
      });
      await expectEventually(async () => expect((await task(sent.id)).state).toBe('failed'), {
        timeoutMs: 20_000,
      });
      const failed = await task(sent.id);
      // Either the bridge's reason or the mesh's deadline job, whichever came first; both are the deadline.
      expect(failed.reason).toMatch(
        /^(Outside Counsel did not answer before the task's deadline|deadline_exceeded)$/,
      );
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(deadline));
      await expectEventually(() => expect(remote.canceled).toContain(sent.id), { timeoutMs: 10_000 });
    }, 30_000);

    it('an agent that does not stream, over HTTP+JSON, unsigned card, bearer credentials: one blocking send through the SDK fallback, completed', async () => {
      plain = await startRemoteLegalAgent({
        binding: 'HTTP+JSON',
        streaming: false,
        name: 'Plain Counsel',
        signed: false,
        requireAuthorization: 'Bearer counsel-secret',
      });
      // Its endpoint refuses a call without the credentials its security scheme asks for.
      expect((await fetch(`${plain.url}/a2a/rest/tasks/any`)).status).toBe(401);
      const started = plain;
      closers.push(() => started.close());
      const id = 'plain-counsel-agent';
      registered = withFile(registered, `agents/${id}.yaml`, remoteAgentFile(plain.cardUrl, undefined, id));
      await expect(load(registered)).resolves.toMatchObject({ changed: true });
      const app = await startRemoteAgentApp(
        loadRemoteAgentConfig({
          AGENT_ID: id,
          NATS_URL: ctx.natsUrl,
          NATS_SUBJECT_PREFIX: ctx.subjectPrefix,
          NATS_NAME_SUFFIX: ctx.nameSuffix,
          AGENTS_HTTP_PORT: '0',
          A2A_POLL_INTERVAL: '100ms',
          AGENT_SHUTDOWN_GRACE: '1s',
          A2A_AUTHORIZATION: 'Bearer counsel-secret',
          A2A_LIVENESS_INTERVAL: '1m',
          AGENT_MAX_DELIVER: '2',
          LOG_LEVEL: 'silent',
        }),
        {
          logger,
          tokens: new StaticAccessTokenSource(
            await issuer.sign({ sub: id, role: 'legal', scope: 'orgmesh:agent' }),
          ),
        },
      );
      bridges.push(app);
      expect(app.card).toEqual({ name: 'Plain Counsel', signature: 'unsigned' });
      // Addressed to the agent itself (its role's policy applies: the manager may send Legal tasks).
      const sent = await send(
        { sub: 'manager-agent', role: 'manager' },
        'sox-review',
        { text: 'Is a $40,000 purchase compliant?', amount: 40_000 },
        undefined,
        id,
      );
      await expectEventually(async () => expect((await task(sent.id)).state).toBe('completed'), {
        timeoutMs: 20_000,
      });
      const done = await task(sent.id);
      expect(done.assignee).toMatchObject({ agentId: id });
      expect(done.result).toMatchObject({
        text: 'Approve: 40000 is under the $100,000 SOX threshold (question: Is a $40,000 purchase compliant?)',
        data: [{ recommendation: 'approve', rule: 'none' }],
        a2a: { agent: 'Plain Counsel' },
      });
      expect(plain.received.map((m) => m.messageId)).toEqual([sent.id]);
      expect(remote.received.map((m) => m.messageId)).not.toContain(sent.id);
    });

    it('an approval delivered to a remote agent is left to a person: input-required, its escalation scheduled by the mesh', async () => {
      // The demo lets nobody ask Legal for approvals: the manager may, in this version.
      const manager = registered.find((f) => f.path === 'profiles/manager.yaml')!;
      const granted = manager.content.replace(
        'request_approval_from: [manager]',
        'request_approval_from: [manager, legal]',
      );
      expect(granted).not.toBe(manager.content);
      registered = withFile(registered, 'profiles/manager.yaml', granted);
      await expect(load(registered)).resolves.toMatchObject({ changed: true });
      const before = remote.received.length;
      const approval = await bus.request(
        RequestApproval,
        { to: REMOTE_ID, subject: 'Sign the NDA with Acme', details: { counterparty: 'Acme' } },
        { authorization: await bearer('manager-agent', 'manager'), idempotencyKey: randomUUID() },
      );
      await expectEventually(async () => expect((await task(approval.id)).state).toBe('input-required'), {
        timeoutMs: 10_000,
      });
      const waiting = await task(approval.id);
      expect(waiting.reason).toBe(
        'Outside Counsel is a remote A2A agent and does not decide approvals: a person or the escalation decides',
      );
      expect(waiting.decision).toBeNull();
      expect(waiting.escalateAt).not.toBeNull();
      expect(remote.received.length).toBe(before);
    });

    it('the registered agent is not refused again by a repeated load while it is down; any new version is', async () => {
      const files = registered;
      await remote.close();
      // The version served: checked when stored, so a restart or a repeated load is a no-op, not a refusal.
      await expect(load(files)).resolves.toMatchObject({ changed: false });
      const edited = withFile(
        files,
        'roles.yaml',
        `${files.find((f) => f.path === 'roles.yaml')!.content}\n# edited\n`,
      );
      const refused = await refusal(edited);
      expect(refused.message).toContain(
        `agents/${REMOTE_ID}.yaml: a2a.card_url: remote A2A agent refused: the card at ${remote.cardUrl} did not answer (ECONNREFUSED)`,
      );
    });

    it('goes offline when its card stops answering, its tasks wait in the inbox as for a local agent that is not running, and are served when it is back', async () => {
      // The remote server was stopped by the test before: heartbeats stop, the registry's timeout passes.
      await expectEventually(
        async () => {
          const { presence } = await bus.request(GetAgent, { agentId: REMOTE_ID });
          expect(presence.online).toBe(false);
        },
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      expect(bridge!.agent.consuming).toBe(false);
      // Not taken, not failed: the task waits for the agent (or another of the role) or its deadline.
      const sent = await send(
        { sub: 'manager-agent', role: 'manager' },
        'sox-review',
        { text: 'Anyone there?', amount: 1 },
        undefined,
        REMOTE_ID,
      );
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(await task(sent.id)).toMatchObject({ state: 'submitted', assignee: null });

      // Back at its address: online again, deliveries taken, the waiting task served.
      const back = await startRemoteLegalAgent({ port: Number(new URL(remote.url).port) });
      closers.push(() => back.close());
      await expectEventually(
        async () => {
          const { presence } = await bus.request(GetAgent, { agentId: REMOTE_ID });
          expect(presence.online).toBe(true);
        },
        { timeoutMs: 10_000, intervalMs: 200 },
      );
      expect(bridge!.agent.consuming).toBe(true);
      await expectEventually(async () => expect((await task(sent.id)).state).toBe('completed'), {
        timeoutMs: 20_000,
      });
      expect(back.received.map((m) => m.messageId)).toEqual([sent.id]);
      await back.close();
    }, 60_000);

    it('a call that fails while the agent still counts as present is retried, then fails the task saying why', async () => {
      // The plain agent's bridge asks for its card once a minute: it has not noticed its end yet.
      await plain!.close();
      const sent = await send(
        { sub: 'manager-agent', role: 'manager' },
        'sox-review',
        { text: 'Anyone there?', amount: 1 },
        undefined,
        'plain-counsel-agent',
      );
      await expectEventually(async () => expect((await task(sent.id)).state).toBe('failed'), {
        timeoutMs: 20_000,
      });
      expect((await task(sent.id)).reason).toBe(
        'unavailable: Plain Counsel could not be reached: fetch failed (ECONNREFUSED)',
      );
    });
  });
});
