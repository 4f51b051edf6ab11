import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { createJwtVerifier, LocalIssuer, SCOPES } from '@orgmesh/auth';
import {
  AgentHeartbeat,
  AssignProfile,
  GetAdminDirectory,
  GetAgent,
  ImportOrg,
  LoadRegistry,
  RenderConfig,
  ResolvePolicy,
  type RegistrySourceFile,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { TestContext } from '@orgmesh/testing';
import type { RegistryApp } from '../src/registry.app.js';
import { DEMO_ORG_CHART, demoFiles, editFile } from './demo-registry.js';
import { clientBus, createTestContext, rpcError, startTestRegistry } from './registry-harness.js';

describe('caller identity with admin checks on', () => {
  let ctx: TestContext;
  let app: RegistryApp;
  let bus: MessageBus;
  let issuer: LocalIssuer;
  let admin: string;
  let financeAgent: string;
  let demo: RegistrySourceFile[];

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    app = await startTestRegistry(ctx, {
      overrides: { REGISTRY_AUTH: 'on' },
      verifier: createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks }),
    });
    bus = await clientBus(ctx);
    admin = `Bearer ${await issuer.sign({ sub: 'alice', role: 'admin', scope: `${SCOPES.admin} ${SCOPES.read}` })}`;
    financeAgent = `Bearer ${await issuer.sign({ sub: 'finance-agent', role: 'finance', scope: SCOPES.agent })}`;
    demo = await demoFiles();
  });

  afterAll(async () => {
    await bus?.close();
    await app?.close();
    await ctx?.dispose();
  });

  it('refuses admin RPCs without a token (401) and with a non-admin token (403), and writes nothing', async () => {
    const files = editFile(demo, 'agents/qa-agent.yaml', 'QA Agent', 'Quality Agent');
    const csv = await readFile(DEMO_ORG_CHART, 'utf8');
    for (const call of [
      (authorization?: string) => bus.request(LoadRegistry, { files }, { authorization }),
      (authorization?: string) => bus.request(ImportOrg, { csv }, { authorization }),
      (authorization?: string) =>
        bus.request(AssignProfile, { userId: 'u00040', profileId: 'engineering' }, { authorization }),
      // The admin's directory (the gateway's /v1/users): the forwarded token is verified here (issue 18).
      (authorization?: string) => bus.request(GetAdminDirectory, {}, { authorization }),
    ]) {
      expect((await rpcError(call())).code).toBe('unauthenticated');
      expect((await rpcError(call('Bearer not-a-jwt'))).code).toBe('unauthenticated');
      const forbidden = await rpcError(call(financeAgent));
      expect(forbidden.code).toBe('forbidden');
      expect(forbidden.message).toMatch(/needs an admin token$/);
    }
    const { rows } = await app.db.query<{ versions: number; users: number }>(
      `SELECT (SELECT count(*) FROM registry.registry_versions)::int AS versions, (SELECT count(*) FROM registry.org_users)::int AS users`,
    );
    expect(rows[0]).toEqual({ versions: 1, users: 0 });
  });

  it('lets an admin load, import and assign, recording who did it', async () => {
    const loaded = await bus.request(
      LoadRegistry,
      { files: editFile(demo, 'agents/qa-agent.yaml', 'QA Agent', 'Quality Agent') },
      { authorization: admin },
    );
    expect(loaded).toMatchObject({ version: 2, changed: true });
    const imported = await bus.request(
      ImportOrg,
      { csv: await readFile(DEMO_ORG_CHART, 'utf8') },
      { authorization: admin },
    );
    const directory = await bus.request(GetAdminDirectory, {}, { authorization: admin });
    expect(directory.people.length).toBeGreaterThan(0);
    expect(imported.users).toBe(60);
    const assigned = await bus.request(
      AssignProfile,
      { userId: 'u00040', profileId: 'engineering-contractor' },
      { authorization: admin },
    );
    expect(assigned.assignedBy).toBe('alice');
    const { rows } = await app.db.query(
      `SELECT (SELECT loaded_by FROM registry.registry_versions WHERE version = 2) AS loaded_by,
              (SELECT imported_by FROM registry.org_versions ORDER BY org_version DESC LIMIT 1) AS imported_by`,
    );
    expect(rows[0]).toEqual({ loaded_by: 'alice', imported_by: 'alice' });
  });

  it('renders an agent configuration for that agent or staff only, verifying the token itself', async () => {
    const render = (authorization?: string) =>
      bus.request(RenderConfig, { agentId: 'finance-agent', format: 'goose' }, { authorization });
    expect((await rpcError(render())).code).toBe('unauthenticated');
    const legal = `Bearer ${await issuer.sign({ sub: 'legal-agent', role: 'legal', scope: SCOPES.agent })}`;
    expect((await rpcError(render(legal))).code).toBe('forbidden');
    const noScope = `Bearer ${await issuer.sign({ sub: 'someone', role: 'finance' })}`;
    expect((await rpcError(render(noScope))).code).toBe('forbidden');
    expect((await render(financeAgent)).configHash).toEqual((await render(admin)).configHash);
  });

  it('takes a heartbeat only from the agent itself (or an admin)', async () => {
    const { configHash } = await bus.request(
      RenderConfig,
      { agentId: 'finance-agent', format: 'goose' },
      { authorization: financeAgent },
    );
    expect(
      (
        await bus.request(
          AgentHeartbeat,
          { agentId: 'finance-agent', configHash },
          { authorization: financeAgent },
        )
      ).drift,
    ).toBe(false);
    const impostor = await rpcError(
      bus.request(AgentHeartbeat, { agentId: 'manager-agent', configHash }, { authorization: financeAgent }),
    );
    expect(impostor.code).toBe('forbidden');
    expect((await rpcError(bus.request(AgentHeartbeat, { agentId: 'finance-agent', configHash }))).code).toBe(
      'unauthenticated',
    );
    expect((await bus.request(GetAgent, { agentId: 'manager-agent' })).presence.lastSeenAt).toBeNull();
  });

  it('answers reads without a token', async () => {
    expect(
      (await bus.request(ResolvePolicy, { from: 'finance', to: 'manager', kind: 'approval' })).allowed,
    ).toBe(true);
    expect((await bus.request(GetAgent, { agentId: 'legal-agent' })).agent.role).toBe('legal');
  });
});
