import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ApplySessionEvent,
  CreateSession,
  GetSession,
  ListSessionTransitions,
  ListSessions,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { rpcError, tokenAttacks, type TestContext } from '@orgmesh/testing';
import {
  clientBus,
  createTestContext,
  sessionsBearer,
  sessionsIssuer,
  startTestSessions,
  trustIssuer,
} from './sessions-harness.js';
import type { SessionsApp } from '../src/sessions.app.js';

// The sessions service verifies every caller itself (issue 18): what the raw bus can do is what the
// token allows, whatever the payload claims.
describe('sessions service: the caller, verified on every RPC', () => {
  let ctx: TestContext;
  let app: SessionsApp;
  let bus: MessageBus;
  const as: Record<string, { authorization: string }> = {};
  let payablesSession: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    app = await startTestSessions(ctx);
    bus = await clientBus(ctx);
    for (const [subject, role] of [
      ['finance-agent', 'finance'],
      ['accounts-payable-agent', 'finance'],
      ['ops-admin', 'admin'],
    ] as const) {
      as[subject] = { authorization: await sessionsBearer(ctx, subject, role) };
    }
    as['viewer'] = { authorization: await sessionsBearer(ctx, 'dashboard', 'viewer', 'orgmesh:read') };
    payablesSession = (
      await bus.request(CreateSession, { agentId: 'accounts-payable-agent', role: 'finance' }, as['accounts-payable-agent'])
    ).id;
  });

  afterAll(async () => {
    await bus?.close();
    await app?.close();
    await ctx?.dispose();
  });

  async function untouched(id: string): Promise<void> {
    expect((await bus.request(GetSession, { id })).version).toBe(0);
    expect((await bus.request(ListSessionTransitions, { id })).items).toHaveLength(0);
  }

  async function refusedCount(code: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${app.health.port}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('orgmesh_callers_refused_total{') && l.includes(`code="${code}"`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  it('refuses apply-event with a forged actor and no token, or a bad one, as unauthenticated, writing nothing', async () => {
    const before = await refusedCount('unauthenticated');
    // The gateway suite's attacks (libs/testing): the wrong-issuer and wrong-audience tokens are signed
    // by keys this verifier trusts, so each is refused for its own flaw.
    const kit = await tokenAttacks(await sessionsIssuer(ctx), {
      sub: 'ops-admin',
      role: 'admin',
      scope: 'orgmesh:admin',
    });
    trustIssuer(ctx, kit.verifier);
    for (const attack of kit.attacks) {
      const error = await rpcError(
        bus.request(
          ApplySessionEvent,
          { id: payablesSession, event: 'fail', actor: 'accounts-payable-agent' },
          { authorization: attack.authorization },
        ),
      );
      expect({ attack: attack.name, code: error.code, reason: error.message }).toEqual({
        attack: attack.name,
        code: 'unauthenticated',
        reason: expect.stringMatching(attack.reason),
      });
    }
    // Reads are verified the same way.
    expect((await rpcError(bus.request(GetSession, { id: payablesSession }, { authorization: '' }))).code).toBe(
      'unauthenticated',
    );
    await untouched(payablesSession);
    expect(await refusedCount('unauthenticated')).toBe(before + kit.attacks.length + 1);
  });

  it("refuses an agent acting on another agent's session of its own role (403), writing nothing", async () => {
    const error = await rpcError(
      bus.request(
        ApplySessionEvent,
        { id: payablesSession, event: 'fail', actor: 'accounts-payable-agent' },
        as['finance-agent'],
      ),
    );
    expect(error.code).toBe('forbidden');
    expect(error.details).toMatchObject({ callerAgentId: 'finance-agent', agentId: 'accounts-payable-agent' });
    await untouched(payablesSession);
    expect((await rpcError(bus.request(GetSession, { id: payablesSession }, as['finance-agent']))).code).toBe('forbidden');
    expect(
      (await rpcError(bus.request(ListSessionTransitions, { id: payablesSession }, as['finance-agent']))).code,
    ).toBe('forbidden');
    // A viewer reads any session but changes none.
    expect((await bus.request(GetSession, { id: payablesSession }, as['viewer'])).id).toBe(payablesSession);
    expect(
      (await rpcError(bus.request(ApplySessionEvent, { id: payablesSession, event: 'fail' }, as['viewer']))).code,
    ).toBe('forbidden');
    await untouched(payablesSession);
  });

  it('lets an agent act on its own session and an admin on any, each recorded as the actor', async () => {
    const own = await bus.request(CreateSession, { agentId: 'finance-agent', role: 'finance' }, as['finance-agent']);
    await bus.request(ApplySessionEvent, { id: own.id, event: 'activate', actor: 'ops-admin' }, as['finance-agent']);
    const other = await bus.request(CreateSession, { agentId: 'accounts-payable-agent', role: 'finance' }, as['ops-admin']);
    await bus.request(ApplySessionEvent, { id: other.id, event: 'fail', reason: 'killed by operator' }, as['ops-admin']);
    expect((await bus.request(ListSessionTransitions, { id: own.id })).items.map((t) => t.actor)).toEqual([
      'finance-agent',
    ]);
    expect((await bus.request(ListSessionTransitions, { id: other.id })).items.map((t) => [t.actor, t.to])).toEqual([
      ['ops-admin', 'failed'],
    ]);
  });

  it('opens sessions for an agent itself only, as its own role, and lists its own only', async () => {
    expect(
      (await rpcError(bus.request(CreateSession, { agentId: 'accounts-payable-agent', role: 'finance' }, as['finance-agent'])))
        .code,
    ).toBe('forbidden');
    expect(
      (await rpcError(bus.request(CreateSession, { agentId: 'finance-agent', role: 'legal' }, as['finance-agent']))).code,
    ).toBe('forbidden');
    const mine = await bus.request(ListSessions, { role: 'finance', limit: 100 }, as['finance-agent']);
    expect(mine.items.length).toBeGreaterThan(0);
    expect(mine.items.every((s) => s.agentId === 'finance-agent')).toBe(true);
    expect(
      (await rpcError(bus.request(ListSessions, { agentId: 'accounts-payable-agent', limit: 10 }, as['finance-agent'])))
        .code,
    ).toBe('forbidden');
    const all = await bus.request(ListSessions, { role: 'finance', limit: 100 }, as['viewer']);
    expect(new Set(all.items.map((s) => s.agentId))).toEqual(new Set(['finance-agent', 'accounts-payable-agent']));
  });

  it("scopes idempotency keys to the caller: another caller's key never answers with its result", async () => {
    const mine = await bus.request(CreateSession, { agentId: 'finance-agent', role: 'finance', contextId: 'idem' }, {
      ...as['finance-agent'],
      idempotencyKey: 'same-key',
    });
    const theirs = await bus.request(
      CreateSession,
      { agentId: 'accounts-payable-agent', role: 'finance', contextId: 'idem' },
      { ...as['accounts-payable-agent'], idempotencyKey: 'same-key' },
    );
    expect(theirs.agentId).toBe('accounts-payable-agent');
    expect(theirs.id).not.toBe(mine.id);
  });
});
