import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { SCOPES, LocalIssuer } from '@orgmesh/auth';
import { AssignProfile, ImportOrg, LoadRegistry, type RegistrySourceFile } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { tokenAttacks, type TestContext, type TokenAttackKit } from '@orgmesh/testing';
import { startRegistryApp, type RegistryApp } from '../src/registry.app.js';
import { DEMO_ORG_CHART, demoFiles, editFile } from './demo-registry.js';
import { clientBus, createTestContext, rpcError, testConfig } from './registry-harness.js';

// Issue 18: every token attack of the gateway suite, on a raw NATS request straight to the registry
// (no gateway in front): its admin writes refuse each as unauthenticated, write nothing, count each.
describe('registry: forged and broken tokens on the raw bus', () => {
  let ctx: TestContext;
  let issuer: LocalIssuer;
  let kit: TokenAttackKit;
  let app: RegistryApp;
  let bus: MessageBus;
  let demo: RegistrySourceFile[];
  const logLines: string[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    kit = await tokenAttacks(issuer, {
      sub: 'alice',
      role: 'admin',
      scope: `${SCOPES.admin} ${SCOPES.read}`,
    });
    app = await startRegistryApp(testConfig(ctx, { REGISTRY_AUTH: 'on' }), {
      // Debug level: whatever the refusal path logs is captured and searched for the tokens.
      logger: createLogger({
        service: 'registry',
        level: 'debug',
        destination: { write: (line) => void logLines.push(line) },
      }),
      migrate: true,
      verifier: kit.verifier,
      startJobs: false,
    });
    bus = await clientBus(ctx);
    demo = await demoFiles();
  });

  afterAll(async () => {
    await bus?.close();
    await app?.close();
    await ctx?.dispose();
  });

  async function refusedCount(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${app.health.port}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('orgmesh_callers_refused_total{') && l.includes('code="unauthenticated"'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  async function written(): Promise<Record<string, number>> {
    const { rows } = await app.db.query<Record<string, number>>(
      `SELECT (SELECT count(*) FROM registry.registry_versions)::int AS versions,
              (SELECT count(*) FROM registry.org_versions)::int AS "orgVersions",
              (SELECT count(*) FROM registry.org_users)::int AS users,
              (SELECT count(*) FROM registry.profile_assignments)::int AS assignments`,
    );
    return rows[0]!;
  }

  it('refuses load-registry, import-org and assign-profile with each attack, writing nothing, counting each once', async () => {
    const files = editFile(demo, 'agents/qa-agent.yaml', 'QA Agent', 'Quality Agent');
    const csv = await readFile(DEMO_ORG_CHART, 'utf8');
    const writes = {
      'load-registry': (authorization?: string) => bus.request(LoadRegistry, { files }, { authorization }),
      'import-org': (authorization?: string) => bus.request(ImportOrg, { csv }, { authorization }),
      'assign-profile': (authorization?: string) =>
        bus.request(AssignProfile, { userId: 'u00040', profileId: 'engineering' }, { authorization }),
    };
    const initial = await written();
    expect(initial).toEqual({ versions: 1, orgVersions: 0, users: 0, assignments: 0 });
    const before = await refusedCount();
    for (const [rpc, call] of Object.entries(writes)) {
      for (const attack of kit.attacks) {
        const error = await rpcError(call(attack.authorization));
        expect({ rpc, attack: attack.name, code: error.code, reason: error.message }).toEqual({
          rpc,
          attack: attack.name,
          code: 'unauthenticated',
          reason: expect.stringMatching(attack.reason),
        });
      }
    }
    expect(await written()).toEqual(initial);
    expect(await refusedCount()).toBe(before + Object.keys(writes).length * kit.attacks.length);

    // The control: the issuer's own admin token loads, and is not counted.
    const admin = `Bearer ${await issuer.sign({ sub: 'alice', role: 'admin', scope: `${SCOPES.admin} ${SCOPES.read}` })}`;
    expect(await bus.request(LoadRegistry, { files }, { authorization: admin })).toMatchObject({
      version: 2,
    });
    expect((await written()).versions).toBe(2);
    expect(await refusedCount()).toBe(before + Object.keys(writes).length * kit.attacks.length);

    const log = logLines.join('');
    expect(logLines.length).toBeGreaterThan(0);
    for (const secret of [...kit.secrets, 'not-a-jwt']) expect(log.includes(secret)).toBe(false);
  });
});
