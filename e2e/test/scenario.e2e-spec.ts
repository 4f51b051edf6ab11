import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { runMigrations } from '@orgmesh/migrations';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import {
  EXPECTED_SESSION_EVENTS,
  SCENARIO_EMPLOYEE,
  SEEDED_PII_VALUES,
  api,
  renderTimeline,
  runScenario,
  type ScenarioReport,
} from '../src/scenario.js';
import { startSuite, type RunningSuite } from '../src/suite.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The whole suite, every service and agent its own OS process from the built dist, against the
 * real NATS and Postgres of the test run (own database, subject prefix and stream suffix), running
 * the Finance → Manager → Legal scenario through the gateway with the scripted model behind the
 * privacy proxy.
 */
describe('e2e: the Finance ↔ Manager ↔ Legal scenario across the whole suite', () => {
  let ctx: TestContext;
  let suite: RunningSuite | undefined;
  let report: ScenarioReport;
  let db: pg.Client;
  let recordFile: string;
  let logDir: string;

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'ignore' });
    ctx = await createTestContext();
    for (const service of ['sessions', 'mesh', 'registry'])
      await runMigrations({ url: ctx.databaseUrl, service });
    const dir = mkdtempSync(join(tmpdir(), 'orgmesh-e2e-'));
    logDir = join(dir, 'logs');
    mkdirSync(logDir);
    recordFile = join(dir, 'upstream-requests.jsonl');
    suite = await startSuite({
      root,
      natsUrl: ctx.natsUrl,
      databaseUrl: ctx.databaseUrl,
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logDir,
      recordFile,
    });
    report = await runScenario({
      gatewayUrl: suite.gatewayUrl,
      proxyUrl: suite.proxyUrl,
      timeoutMs: 90_000,
      // As `npm run demo`: a Claude-model agent's call, through the proxy to the Anthropic upstream.
      claudeCodeAgent: { clientId: 'contracts-agent', clientSecret: 'contracts-agent-dev-secret' },
    });
    db = new pg.Client({ connectionString: ctx.databaseUrl });
    await db.connect();
    process.stdout.write(
      [
        renderTimeline(report),
        '',
        `suite ready in ${suite.readyMs} ms; scenario ${report.durationMs} ms; logs in ${logDir}`,
        `RSS (MiB): ${Object.entries(suite.rss())
          .map(([name, mib]) => `${name} ${mib}`)
          .join(', ')}`,
        '',
      ].join('\n'),
    );
  }, 240_000);

  afterAll(async () => {
    await db?.end();
    await suite?.stop();
    await ctx?.dispose();
  }, 60_000);

  it('runs the scenario to its end: approval requested, Legal consulted and answering, approved, Finance completed', () => {
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    // Every step went through the agents' model conversations, each through the proxy.
    expect(report.modelCalls).toBeGreaterThanOrEqual(9);
    // The Claude Code step: a Claude-model agent got a streamed Anthropic answer, and its check ran.
    expect(report.claudeCode).toMatchObject({ agentId: 'contracts-agent', model: 'claude-sonnet-4-5', status: 200, streamed: true });
    // The model saw placeholders (below); the answer came back with the employee's name restored.
    expect(report.claudeCode).toMatchObject({ text: expect.stringContaining(SCENARIO_EMPLOYEE.name) });
    expect(report.checks.map((c) => c.name)).toContain('6. a Claude Code agent answered (Anthropic Messages through the privacy proxy)');
    expect(report.liveEvents).toBeGreaterThan(0);
  });

  function upstreamBodies(): string {
    const records = readFileSync(recordFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { path: string; body: string });
    expect(records.length).toBe(report.modelCalls);
    return records
      .map((r) => r.body)
      .join('\n')
      .toLowerCase();
  }

  it('never let the recording upstream see the seeded SSN, IBAN or email; it saw placeholders, and the agents still got the real values', () => {
    const everything = upstreamBodies();
    for (const value of SEEDED_PII_VALUES.filter((v) => v !== SCENARIO_EMPLOYEE.name)) {
      expect([value, everything.includes(value.toLowerCase())]).toEqual([value, false]);
    }
    for (const label of ['person', 'email', 'ssn', 'iban'])
      expect(everything).toMatch(new RegExp(`\\[\\[${label}_[0-9a-f]{8,16}\\]\\]`));
    // The approval Finance's model asked for was created with the real values: the proxy restored them in the tool call.
    const details = JSON.stringify(report.tasks.find((t) => t.kind === 'approval')?.details);
    expect(details).toContain(SCENARIO_EMPLOYEE.ssn);
    expect(details).toContain(SCENARIO_EMPLOYEE.name);
  });

  it('never lets the recording upstream see the seeded name either', () => {
    expect(upstreamBodies()).not.toContain(SCENARIO_EMPLOYEE.name.toLowerCase());
  });

  it("took each agent's session through the expected transitions, persisted in Postgres", async () => {
    const { rows } = await db.query<{ agent_id: string; status: string; events: string[]; states: string[] }>(
      `SELECT s.agent_id, s.status,
              array_agg(t.event ORDER BY t.seq) AS events,
              array_agg(t.from_state || '>' || t.to_state ORDER BY t.seq) AS states
         FROM sessions.sessions s JOIN sessions.session_transitions t ON t.session_id = s.id
        WHERE s.context_id = $1 GROUP BY s.id, s.agent_id, s.status`,
      [report.contextId],
    );
    const byAgent = Object.fromEntries(rows.map((r) => [r.agent_id, r]));
    for (const [agent, events] of Object.entries(EXPECTED_SESSION_EVENTS)) {
      expect([agent, byAgent[agent]?.events]).toEqual([agent, [...events]]);
      expect([agent, byAgent[agent]?.status]).toEqual([agent, 'completed']);
    }
    expect(byAgent['finance-agent']?.states).toEqual([
      'pending>active',
      'active>paused',
      'paused>active',
      'active>completed',
    ]);
  });

  it("kept every task's complete history: each change in order, chained state to state, ending in the task's state", async () => {
    const { rows: tasks } = await db.query<{
      id: string;
      kind: string;
      type: string | null;
      state: string;
      from_agent_id: string;
    }>(
      `SELECT id, kind, type, state, from_agent_id FROM mesh.tasks WHERE context_id = $1 ORDER BY created_at`,
      [report.contextId],
    );
    expect(tasks.map((t) => [t.kind, t.type ?? t.kind, t.state])).toEqual([
      ['task', 'budget-request', 'completed'],
      ['approval', 'approval', 'completed'],
      ['task', 'sox-review', 'completed'],
    ]);
    for (const task of tasks) {
      const { rows: events } = await db.query<{
        event: string;
        from_state: string | null;
        to_state: string;
        actor: string;
      }>(`SELECT event, from_state, to_state, actor FROM mesh.task_events WHERE task_id = $1 ORDER BY seq`, [
        task.id,
      ]);
      const expected =
        task.kind === 'approval' ? ['create', 'start', 'decide'] : ['create', 'start', 'complete'];
      expect([task.type ?? task.kind, events.map((e) => e.event)]).toEqual([
        task.type ?? task.kind,
        expected,
      ]);
      expect(events[0]).toMatchObject({ from_state: null, to_state: 'submitted', actor: task.from_agent_id });
      for (let i = 1; i < events.length; i++) expect(events[i]!.from_state).toBe(events[i - 1]!.to_state);
      expect(events[events.length - 1]!.to_state).toBe(task.state);
      // The REST history the gateway serves is the same history.
      const served = report.tasks.find((t) => t.id === task.id)!.history!.map((h) => h.event);
      expect(served).toEqual(expected);
    }
  });

  it('sees the three agents online through their heartbeats, each on the config the registry rendered for it (no drift)', async () => {
    const res = await fetch(`${suite!.gatewayUrl}/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: 'admin',
        client_secret: 'admin-dev-secret',
      }),
    });
    const admin = ((await res.json()) as { access_token: string }).access_token;
    for (const agentId of ['finance-agent', 'manager-agent', 'legal-agent']) {
      const found = await api<{
        presence: { online: boolean; drift: boolean; reportedConfigHash: string | null };
        expectedConfigHashes: Record<string, string>;
      }>(suite!.gatewayUrl, admin, 'GET', `/v1/agents/${agentId}`);
      expect([agentId, found.presence.online, found.presence.drift]).toEqual([agentId, true, false]);
      expect(Object.values(found.expectedConfigHashes)).toContain(found.presence.reportedConfigHash);
    }
  });

  it('follows one trace from the gateway request through the mesh router and the agents to the sessions service', async () => {
    // The kickoff request carried a traceparent of its own: the gateway continued it, the mesh router
    // recorded it on every task change, the agents passed it on with each mesh call they made while
    // handling their deliveries, and the sessions service recorded it on each transition it applied.
    const { rows: changes } = await db.query<{
      kind: string;
      type: string | null;
      event: string;
      actor: string;
      trace_id: string | null;
    }>(
      `SELECT t.kind, t.type, e.event, e.actor, e.trace_id FROM mesh.task_events e JOIN mesh.tasks t ON t.id = e.task_id WHERE t.context_id = $1 ORDER BY e.seq`,
      [report.contextId],
    );
    expect(changes).toHaveLength(9);
    expect(changes.map((c) => [c.kind, c.event, c.actor, c.trace_id])).toEqual(
      changes.map((c) => [c.kind, c.event, c.actor, report.traceId]),
    );
    // Created by agents, not by the gateway's caller: the trace crossed the agents.
    expect(changes.filter((c) => c.event === 'create').map((c) => c.actor)).toEqual([
      'finance-lead',
      'finance-agent',
      'manager-agent',
    ]);
    const { rows: transitions } = await db.query<{
      agent_id: string;
      event: string;
      trace_id: string | null;
    }>(
      `SELECT s.agent_id, t.event, t.trace_id FROM sessions.session_transitions t JOIN sessions.sessions s ON s.id = t.session_id WHERE s.context_id = $1 ORDER BY t.seq`,
      [report.contextId],
    );
    expect(transitions.length).toBeGreaterThanOrEqual(9);
    expect(transitions.map((t) => [t.agent_id, t.event, t.trace_id])).toEqual(
      transitions.map((t) => [t.agent_id, t.event, report.traceId]),
    );
  });
});
