import { randomBytes, randomUUID } from 'node:crypto';
import { claudeCodeCall, type ClaudeCodeCallResult } from './claude-code-call.js';

/**
 * The Finance → Manager → Legal scenario, driven through the gateway's public REST API against a
 * running suite (the same code serves `npm run demo` and the e2e test):
 *   1. a person of the Finance team hands the Finance agent a budget request (Q1 engineering,
 *      $125K) that mentions an employee by name, email, SSN and IBAN;
 *   2. Finance requests the Manager's approval; 3. the Manager consults Legal for a SOX review;
 *   4. Legal answers; 5. the Manager approves; 6. Finance completes its task.
 * It observes the lifecycle events live over SSE, then reads every task (with its history) and
 * every session (with its transitions) of the workflow, and the privacy proxy's redaction counts.
 */

/** A real person of the demo org chart; the values are what must never reach a model provider. */
export const SCENARIO_EMPLOYEE = {
  name: 'Kenji Ito',
  email: 'kenji.ito@example.com',
  ssn: '512-44-7391',
  iban: 'DE36 5001 0517 5407 3243 96',
} as const;

/** Every surface form of the seeded personal data a leak could take. */
export const SEEDED_PII_VALUES: readonly string[] = [
  SCENARIO_EMPLOYEE.name,
  SCENARIO_EMPLOYEE.email,
  SCENARIO_EMPLOYEE.ssn,
  SCENARIO_EMPLOYEE.ssn.replace(/-/g, ''),
  SCENARIO_EMPLOYEE.iban,
  SCENARIO_EMPLOYEE.iban.replace(/\s/g, ''),
];

/**
 * The request, as the Finance person hands it over. `humanApproval`: the request asks that a person
 * decide (`npm run demo -- --human`); Finance copies it into the approval's details, where the
 * Manager agent reads it and leaves the approval to people (input-required).
 */
export function budgetRequestInput(humanApproval = false): Record<string, unknown> {
  return {
    ...(humanApproval ? { human_approval: true } : {}),
    quarter: 'Q1',
    department: 'Engineering',
    amount: 125_000,
    currency: 'USD',
    purpose:
      'Q1 engineering budget: two platform engineers, cloud capacity and tooling, and a relocation bonus',
    employee: {
      ...SCENARIO_EMPLOYEE,
      note: 'Relocation bonus for this employee: payroll needs the SSN and the IBAN for the payment',
    },
  };
}

export interface Credentials {
  clientId: string;
  clientSecret: string;
}

export interface ScenarioOptions {
  gatewayUrl: string;
  /** The privacy proxy, for its redaction counters (`/metrics`). */
  proxyUrl?: string;
  /** Who hands Finance its task: the first of these the gateway accepts (a Finance person; role finance). */
  requesters?: Credentials[];
  /** Reads everything (admin scope). */
  observer?: Credentials;
  /** Finance agent to address. */
  financeAgentId?: string;
  timeoutMs?: number;
  /** W3C trace context of the kickoff request (the gateway continues it); a new trace by default. */
  traceparent?: string;
  /** Called with each lifecycle event as it arrives over SSE (already rendered as one line). */
  onLive?: (line: string) => void;
  /**
   * How the requester and the observer get their tokens: the gateway's dev issuer by default; in OIDC
   * mode, client_credentials at the OpenID provider (`oidcScenarioTokens`, oidc.ts).
   */
  issueToken?: (credentials: Credentials) => Promise<string>;
  /**
   * A registry agent on an Anthropic model (e.g. contracts-agent): after the workflow it makes the
   * model call Claude Code makes with its rendered config, about the employee, in this workflow
   * (claude-code-call.ts), and a check says whether it was answered. Unset: no such step.
   */
  claudeCodeAgent?: Credentials;
  /**
   * The demo with a person (`--human`): the request asks for a person's decision, the Manager agent
   * hands the approval on (input-required) and the manager profile's rule routes it to the head of
   * Finance's reporting line. The run waits (up to `timeoutMs`) for that person to decide.
   */
  human?: HumanStep;
}

/** Who the approval waits for, once the mesh has routed it to a person. */
export interface AwaitingPerson {
  approvalId: string;
  subject: string | null;
  userId: string;
  name: string | null;
  role: string;
}

export interface HumanStep {
  /** Called once, when the approval has been handed to a person. */
  onAwaitingPerson?: (who: AwaitingPerson) => void;
  /** Called every `stillWaitingEveryMs` (default 15 s) while the run waits, before and after the hand-over. */
  onStillWaiting?: (waitedMs: number, who: AwaitingPerson | undefined) => void;
  stillWaitingEveryMs?: number;
}

export interface TaskHistoryItem {
  seq: number;
  event: string;
  from: string | null;
  to: string;
  actor: string;
  reason: string | null;
  occurredAt: string;
}

export interface ScenarioTask {
  id: string;
  kind: 'task' | 'approval' | 'notification';
  from: { agentId: string; role: string };
  to: { role: string; agentId: string | null };
  assignee: { agentId: string; role: string } | null;
  type: string | null;
  subject: string | null;
  state: string;
  reason: string | null;
  contextId: string;
  input?: unknown;
  details?: unknown;
  result: unknown;
  decision: { decision: string; comment: string | null; decidedBy: { agentId: string } } | null;
  /** An approval routed to a person (approvals to people, ADR 0019). */
  escalatedTo?: { userId: string; role: string; name: string | null } | null;
  createdAt: string;
  updatedAt: string;
  history?: TaskHistoryItem[];
}

export interface ScenarioSession {
  id: string;
  agentId: string;
  role: string;
  contextId: string;
  status: string;
  transitions: Array<{
    from: string;
    to: string;
    event: string;
    actor: string;
    reason: string | null;
    occurredAt: string;
    traceId?: string | null;
  }>;
}

export interface ScenarioCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioReport {
  ok: boolean;
  contextId: string;
  /** The trace the kickoff request started (32 hex digits). */
  traceId: string;
  requester: string;
  kickoff?: ScenarioTask;
  tasks: ScenarioTask[];
  sessions: ScenarioSession[];
  /** Redactions by entity type and action (mask, detect, strict), as counted by the proxy during the run. */
  redactions: Record<string, Record<string, number>>;
  /** Model calls (OpenAI chat completions, Anthropic Messages) the proxy answered during the run. */
  modelCalls: number | undefined;
  liveEvents: number;
  /** The Claude Code step's call (ScenarioOptions.claudeCodeAgent), or why it could not be made. */
  claudeCode?: ClaudeCodeCallResult | { agentId: string; error: string };
  checks: ScenarioCheck[];
  startedAt: string;
  durationMs: number;
  /** The run's `timeoutMs` passed before Finance's task ended. */
  timedOut: boolean;
  /** `--human`: the person the approval was handed to (undefined if it never was). */
  awaitedPerson?: AwaitingPerson;
}

const DEFAULT_REQUESTERS: Credentials[] = [
  { clientId: 'finance-lead', clientSecret: 'finance-lead-dev-secret' },
  // A Finance agent of the demo registry that the suite does not run: the fallback when the gateway has no finance-lead.
  { clientId: 'financial-reporting-agent', clientSecret: 'financial-reporting-agent-dev-secret' },
];
const TERMINAL = new Set(['completed', 'failed', 'canceled', 'rejected']);

export async function runScenario(options: ScenarioOptions): Promise<ScenarioReport> {
  const gateway = options.gatewayUrl.replace(/\/+$/, '');
  const financeAgent = options.financeAgentId ?? 'finance-agent';
  const timeoutMs = options.timeoutMs ?? 120_000;
  const started = Date.now();
  const contextId = `demo-q1-budget-${new Date(started)
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14)}-${randomUUID().slice(0, 8)}`;
  const traceparent =
    options.traceparent ?? `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
  const traceId = traceparent.split('-')[1] ?? '';
  const issue = options.issueToken ?? ((credentials: Credentials) => token(gateway, credentials));
  const observer = await issue(options.observer ?? { clientId: 'admin', clientSecret: 'admin-dev-secret' });
  const { credentials: requester, token: requesterToken } = await firstToken(
    issue,
    options.requesters ?? DEFAULT_REQUESTERS,
  );

  const live = await subscribeLive(gateway, observer, contextId, options.onLive);
  const before = options.proxyUrl ? await proxyCounters(options.proxyUrl) : undefined;
  const checks: ScenarioCheck[] = [];
  const report: ScenarioReport = {
    ok: false,
    contextId,
    traceId,
    requester: requester.clientId,
    tasks: [],
    sessions: [],
    redactions: {},
    modelCalls: undefined,
    liveEvents: 0,
    checks,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    timedOut: false,
  };
  try {
    const kickoff = await api<ScenarioTask>(gateway, requesterToken, 'POST', '/v1/tasks', {
      body: {
        to: { role: 'finance', agentId: financeAgent },
        type: 'budget-request',
        input: budgetRequestInput(options.human !== undefined),
        contextId,
        priority: 'high',
      },
      idempotencyKey: `demo-${contextId}`,
      traceparent,
    });
    let current = kickoff;
    const deadline = started + timeoutMs;
    const human = options.human;
    let lookedForPerson = 0;
    let toldWaiting = started;
    while (!TERMINAL.has(current.state) && Date.now() < deadline) {
      await sleep(150);
      current = await api<ScenarioTask>(
        gateway,
        observer,
        'GET',
        `/v1/tasks/${kickoff.id}?includeHistory=false`,
      );
      if (!human) continue;
      // Once a second until the mesh has routed the approval to a person: who, for the caller to say.
      if (!report.awaitedPerson && Date.now() - lookedForPerson >= 1_000) {
        lookedForPerson = Date.now();
        report.awaitedPerson = await awaitedPerson(gateway, observer, contextId, financeAgent);
        if (report.awaitedPerson) human.onAwaitingPerson?.(report.awaitedPerson);
      }
      if (Date.now() - toldWaiting >= (human.stillWaitingEveryMs ?? 15_000) && !TERMINAL.has(current.state)) {
        toldWaiting = Date.now();
        human.onStillWaiting?.(toldWaiting - started, report.awaitedPerson);
      }
    }
    report.timedOut = !TERMINAL.has(current.state);
    report.durationMs = Date.now() - started;
    // The requester's own session (it sent the task) ends with the workflow.
    await closeOwnSession(gateway, requesterToken, requester.clientId, contextId, traceparent);
    // Sessions follow the mesh asynchronously (the sessions service consumes the task events): wait for them to settle.
    await settle(async () => {
      const sessions = await sessionsOf(gateway, observer, contextId);
      return (
        sessions.every(
          (s) => ['completed', 'failed', 'expired'].includes(s.status) || s.agentId === requester.clientId,
        ) && sessions.length >= 3
      );
    }, 10_000);
    report.tasks = await tasksOf(gateway, observer, contextId);
    report.kickoff = report.tasks.find((t) => t.id === kickoff.id) ?? current;
    report.sessions = await sessionsOf(gateway, observer, contextId);
    if (options.claudeCodeAgent) report.claudeCode = await claudeCodeStep(gateway, issue, options.claudeCodeAgent, contextId);
    const after = options.proxyUrl && before ? await proxyCounters(options.proxyUrl) : undefined;
    if (before && after) {
      report.redactions = diffRedactions(before.redactions, after.redactions);
      report.modelCalls = after.chatCalls - before.chatCalls;
    }
    report.liveEvents = live.count();
    checks.push(...(human ? humanScenarioChecks(report, financeAgent) : scenarioChecks(report, financeAgent)));
    report.ok = checks.every((c) => c.ok);
    return report;
  } finally {
    live.close();
  }
}

/** What "the scenario succeeded" means, one check per step. */
export function scenarioChecks(report: ScenarioReport, financeAgent = 'finance-agent'): ScenarioCheck[] {
  const checks: ScenarioCheck[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const kickoff = report.kickoff;
  const approval = report.tasks.find((t) => t.kind === 'approval' && t.from.agentId === financeAgent);
  const review = report.tasks.find((t) => t.kind === 'task' && t.type === 'sox-review');
  const result = (kickoff?.result ?? {}) as { outcome?: string };
  const reviewResult = (review?.result ?? {}) as { recommendation?: string };
  check(
    '1. Finance requested approval from Manager',
    approval?.to.role === 'manager',
    approval ? `${approval.id}: "${approval.subject ?? ''}"` : 'no approval request in the workflow',
  );
  check(
    '2. Manager consulted Legal (SOX review)',
    review?.from.role === 'manager' && review.to.role === 'legal',
    review ? `${review.id} from ${review.from.agentId}` : 'no sox-review task in the workflow',
  );
  check(
    '3. Legal answered',
    review?.state === 'completed' && typeof reviewResult.recommendation === 'string',
    review ? `${review.state}: ${reviewResult.recommendation ?? '(no recommendation)'}` : '—',
  );
  check(
    '4. Manager approved',
    approval?.state === 'completed' &&
      approval.decision?.decision === 'approve' &&
      approval.decision.decidedBy.agentId.startsWith('manager'),
    approval?.decision
      ? `${approval.decision.decision} by ${approval.decision.decidedBy.agentId}: ${approval.decision.comment ?? ''}`
      : `approval ${approval?.state ?? 'missing'}`,
  );
  check(
    '5. Finance completed',
    kickoff?.state === 'completed' && result.outcome === 'approved',
    kickoff ? `${kickoff.state}, outcome ${result.outcome ?? '(none)'}` : 'no budget task',
  );
  for (const [agent, expected] of Object.entries(EXPECTED_SESSION_EVENTS)) {
    const session = report.sessions.find((s) => s.agentId === agent);
    const events = session?.transitions.map((t) => t.event) ?? [];
    check(
      `session of ${agent}: ${expected.join(' → ')}`,
      JSON.stringify(events) === JSON.stringify(expected),
      session ? `${session.status} (${events.join(', ') || 'no transitions'})` : 'no session',
    );
  }
  if (report.claudeCode) {
    const call = report.claudeCode;
    check(
      '6. a Claude Code agent answered (Anthropic Messages through the privacy proxy)',
      'status' in call &&
        call.status === 200 &&
        call.streamed &&
        call.text.length > 0 &&
        // The scripted model names the question's placeholders: the proxy must have restored the name.
        (!call.text.startsWith('(scripted model)') || call.text.includes(SCENARIO_EMPLOYEE.name)),
      'status' in call
        ? `${call.agentId} (${call.model}) → ${call.baseUrl}/v1/messages: ${call.status}${call.streamed ? ', streamed' : ''}; "${truncate(call.text, 140)}"`
        : `${call.agentId}: ${call.error}`,
    );
  }
  if (report.modelCalls !== undefined) {
    const masked = ['person', 'email', 'ssn', 'iban'].filter(
      (type) => (report.redactions[type]?.['mask'] ?? 0) > 0,
    );
    check(
      'privacy proxy masked the employee (person, email, SSN, IBAN)',
      masked.length === 4,
      `masked: ${masked.join(', ') || 'none'}; ${report.modelCalls} model calls`,
    );
  }
  return checks;
}

/** Finance's approval once the mesh routed it to a person (`escalatedTo`), else undefined. */
async function awaitedPerson(
  gateway: string,
  bearer: string,
  contextId: string,
  financeAgent: string,
): Promise<AwaitingPerson | undefined> {
  const page = await api<{ items: ScenarioTask[] }>(
    gateway,
    bearer,
    'GET',
    `/v1/tasks?contextId=${encodeURIComponent(contextId)}&limit=100`,
  );
  const approval = page.items.find((t) => t.kind === 'approval' && t.from.agentId === financeAgent);
  const to = approval?.escalatedTo;
  if (!approval || !to) return undefined;
  return { approvalId: approval.id, subject: approval.subject, userId: to.userId, name: to.name, role: to.role };
}

/** What "the demo with a person succeeded" means (`--human`): no Legal review, a person decides. */
export function humanScenarioChecks(report: ScenarioReport, financeAgent = 'finance-agent'): ScenarioCheck[] {
  const checks: ScenarioCheck[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const kickoff = report.kickoff;
  const approval = report.tasks.find((t) => t.kind === 'approval' && t.from.agentId === financeAgent);
  const result = (kickoff?.result ?? {}) as { outcome?: string };
  const history = approval?.history ?? [];
  const handedOn = history.find((h) => h.event === 'require-input');
  const escalated = history.find((h) => h.event === 'escalate');
  const person = approval?.escalatedTo;
  check(
    '1. Finance requested approval from Manager',
    approval?.to.role === 'manager',
    approval ? `${approval.id}: "${approval.subject ?? ''}"` : 'no approval request in the workflow',
  );
  check(
    '2. the Manager agent asked for a person (input-required)',
    handedOn?.actor.startsWith('manager') === true,
    handedOn ? `by ${handedOn.actor}${handedOn.reason ? `: ${handedOn.reason}` : ''}` : 'the approval was never input-required',
  );
  check(
    "3. the manager profile's rule routed it to a person",
    escalated !== undefined && person !== null && person !== undefined,
    person ? `${person.name ?? person.userId} (${person.userId})${escalated?.reason ? ` — ${escalated.reason}` : ''}` : 'not escalated to anyone',
  );
  check(
    '4. that person approved',
    approval?.state === 'completed' &&
      approval.decision?.decision === 'approve' &&
      person !== null &&
      person !== undefined &&
      approval.decision.decidedBy.agentId === person.userId,
    approval?.decision
      ? `${approval.decision.decision} by ${approval.decision.decidedBy.agentId}: ${approval.decision.comment ?? ''}`
      : `approval ${approval?.state ?? 'missing'}${report.timedOut ? ' (nobody decided in time)' : ''}`,
  );
  check(
    '5. Finance completed',
    kickoff?.state === 'completed' && result.outcome === 'approved',
    kickoff ? `${kickoff.state}, outcome ${result.outcome ?? '(none)'}` : 'no budget task',
  );
  const finance = report.sessions.find((s) => s.agentId === financeAgent);
  const financeEvents = finance?.transitions.map((t) => t.event) ?? [];
  const expected = EXPECTED_SESSION_EVENTS['finance-agent']!;
  check(
    `session of ${financeAgent}: ${expected.join(' → ')}`,
    JSON.stringify(financeEvents) === JSON.stringify(expected),
    finance ? `${finance.status} (${financeEvents.join(', ') || 'no transitions'})` : 'no session',
  );
  // The Manager agent handed the approval to a person: its session paused on input-required and ends
  // with the person's decision (ADR 0019), instead of staying paused until the idle sweep.
  const handedBy = approval?.assignee?.agentId ?? 'manager-agent';
  const handing = report.sessions.find((s) => s.agentId === handedBy);
  const handingEvents = handing?.transitions.map((t) => t.event) ?? [];
  const handedOver = ['activate', 'pause', 'resume', 'complete'];
  check(
    `session of ${handedBy}: ${handedOver.join(' → ')}`,
    JSON.stringify(handingEvents) === JSON.stringify(handedOver),
    handing ? `${handing.status} (${handingEvents.join(', ') || 'no transitions'})` : 'no session',
  );
  // The Claude Code step and the proxy's masking are the same as in the automatic run.
  return [...checks, ...scenarioChecks(report, financeAgent).filter((c) => c.name.startsWith('6.') || c.name.startsWith('privacy'))];
}

/** Each reference agent's session in the workflow, as the sessions service records it following the mesh. */
export const EXPECTED_SESSION_EVENTS: Readonly<Record<string, readonly string[]>> = {
  'finance-agent': ['activate', 'pause', 'resume', 'complete'],
  'manager-agent': ['activate', 'complete'],
  'legal-agent': ['activate', 'complete'],
};

/** The timeline: every task event and session transition of the workflow in time order, and the redaction counts. */
export function renderTimeline(report: ScenarioReport): string {
  const t0 = Date.parse(report.startedAt);
  const rows: Array<{ at: number; line: string }> = [];
  const label = (task: ScenarioTask) =>
    task.kind === 'approval'
      ? `approval "${task.subject ?? ''}"`
      : task.kind === 'task'
        ? `task ${task.type ?? ''}`
        : 'notification';
  for (const task of report.tasks) {
    for (const entry of task.history ?? []) {
      const change = entry.from ? `${entry.from} → ${entry.to}` : entry.to;
      const who =
        entry.event === 'create'
          ? `${task.from.agentId} → ${task.to.agentId ?? task.to.role}`
          : `by ${entry.actor}`;
      const reason = entry.reason && entry.event !== 'create' ? ` — ${truncate(entry.reason, 90)}` : '';
      rows.push({
        at: Date.parse(entry.occurredAt),
        line: `task     ${pad(entry.event, 9)} ${pad(change, 24)} ${label(task)} ${who}${reason}`,
      });
    }
  }
  for (const session of report.sessions) {
    for (const transition of session.transitions) {
      rows.push({
        at: Date.parse(transition.occurredAt),
        line: `session  ${pad(transition.event, 9)} ${pad(`${transition.from} → ${transition.to}`, 24)} ${session.agentId}${transition.reason ? ` (${truncate(transition.reason, 60)})` : ''}`,
      });
    }
  }
  rows.sort((a, b) => a.at - b.at);
  const lines = rows.map((row) => `  +${((row.at - t0) / 1000).toFixed(2).padStart(6)}s  ${row.line}`);
  const redactions = Object.entries(report.redactions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([type, actions]) =>
        `    ${pad(type, 16)} ${Object.entries(actions)
          .map(([action, n]) =>
            `${n} ${action}ed`.replace('maskeded', 'masked').replace('detected', 'detected'),
          )
          .join(', ')}`,
    );
  return [
    `Timeline of workflow ${report.contextId} (t = 0 when the request was handed to Finance by ${report.requester}):`,
    ...lines,
    '',
    report.modelCalls === undefined
      ? 'Redactions: privacy proxy metrics not available'
      : `Redactions by the privacy proxy (${report.modelCalls} model calls, personal data replaced before the model saw it):`,
    ...(redactions.length ? redactions : report.modelCalls === undefined ? [] : ['    none']),
  ].join('\n');
}

// ------------------------------------------------------------------ gateway access

/** The Claude Code step: the agent's token, then its call; a failure becomes the check's detail. */
async function claudeCodeStep(
  gateway: string,
  issue: (credentials: Credentials) => Promise<string>,
  agent: Credentials,
  contextId: string,
): Promise<ClaudeCodeCallResult | { agentId: string; error: string }> {
  try {
    return await claudeCodeCall({
      gatewayUrl: gateway,
      agentId: agent.clientId,
      token: await issue(agent),
      contextId,
      prompt: `Does the Q1 engineering budget that names ${SCENARIO_EMPLOYEE.name} (${SCENARIO_EMPLOYEE.email}) need a contract amendment?`,
    });
  } catch (error) {
    return { agentId: agent.clientId, error: error instanceof Error ? error.message : String(error) };
  }
}

async function token(gateway: string, credentials: Credentials): Promise<string> {
  const res = await fetch(`${gateway}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
    }),
  });
  if (!res.ok)
    throw new Error(`the gateway refused the credentials of ${credentials.clientId} (${res.status})`);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function firstToken(
  issue: (credentials: Credentials) => Promise<string>,
  candidates: Credentials[],
): Promise<{ credentials: Credentials; token: string }> {
  const errors: string[] = [];
  for (const credentials of candidates) {
    try {
      return { credentials, token: await issue(credentials) };
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
    }
  }
  throw new Error(`no requester credentials accepted: ${errors.join('; ')}`);
}

export async function api<T>(
  gateway: string,
  bearer: string,
  method: string,
  path: string,
  options: { body?: unknown; idempotencyKey?: string; traceparent?: string } = {},
): Promise<T> {
  const res = await fetch(`${gateway}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
      ...(options.traceparent ? { traceparent: options.traceparent } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

async function tasksOf(gateway: string, bearer: string, contextId: string): Promise<ScenarioTask[]> {
  const page = await api<{ items: ScenarioTask[] }>(
    gateway,
    bearer,
    'GET',
    `/v1/tasks?contextId=${encodeURIComponent(contextId)}&limit=100`,
  );
  const tasks = await Promise.all(
    page.items.map((t) => api<ScenarioTask>(gateway, bearer, 'GET', `/v1/tasks/${t.id}?includeHistory=true`)),
  );
  return tasks.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

async function sessionsOf(gateway: string, bearer: string, contextId: string): Promise<ScenarioSession[]> {
  const page = await api<{ items: Array<Omit<ScenarioSession, 'transitions'>> }>(
    gateway,
    bearer,
    'GET',
    `/v1/sessions?contextId=${encodeURIComponent(contextId)}&limit=100`,
  );
  return Promise.all(
    page.items.map(async (session) => ({
      ...session,
      transitions: (
        await api<{ items: ScenarioSession['transitions'] }>(
          gateway,
          bearer,
          'GET',
          `/v1/sessions/${session.id}/transitions?limit=500`,
        )
      ).items,
    })),
  );
}

async function closeOwnSession(
  gateway: string,
  bearer: string,
  agentId: string,
  contextId: string,
  traceparent: string,
): Promise<void> {
  try {
    await settle(
      async () =>
        (await sessionsOf(gateway, bearer, contextId)).some(
          (s) => s.agentId === agentId && s.status === 'active',
        ),
      5_000,
    );
    const own = (await sessionsOf(gateway, bearer, contextId)).find(
      (s) => s.agentId === agentId && s.status === 'active',
    );
    if (own)
      await api(gateway, bearer, 'PUT', `/v1/sessions/${own.id}/events`, {
        body: { event: 'complete', reason: 'workflow ended' },
        traceparent,
      });
  } catch {
    // not the requester's to close (another kind of caller), or already closed: the workflow result stands
  }
}

/** Lifecycle events of the workflow as they happen (SSE), rendered for the live view and counted. */
async function subscribeLive(
  gateway: string,
  bearer: string,
  contextId: string,
  onLive?: (line: string) => void,
): Promise<{ count(): number; close(): void }> {
  const abort = new AbortController();
  let count = 0;
  let res: Response;
  try {
    res = await fetch(`${gateway}/v1/events?subject=${encodeURIComponent('sessions.v1.*,mesh.v1.*')}`, {
      headers: { authorization: `Bearer ${bearer}`, accept: 'text/event-stream' },
      signal: abort.signal,
    });
  } catch {
    return { count: () => 0, close: () => undefined };
  }
  if (!res.ok || !res.body) return { count: () => 0, close: () => abort.abort() };
  const body = res.body;
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let boundary: number;
        while ((boundary = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          if (!data) continue;
          const envelope = JSON.parse(data) as { subject?: string; payload?: Record<string, unknown> };
          const line = liveLine(envelope.subject ?? '', envelope.payload ?? {}, contextId);
          if (line) {
            count++;
            onLive?.(line);
          }
        }
      }
    } catch {
      // aborted at the end of the run, or the gateway went away: the REST read-back is authoritative
    }
  })();
  return { count: () => count, close: () => abort.abort() };
}

function liveLine(subject: string, payload: Record<string, unknown>, contextId: string): string | undefined {
  if (subject.startsWith('mesh.')) {
    const { task, change } = payload as {
      task?: ScenarioTask;
      change?: { event: string; from: string | null; to: string; actor: string };
    };
    if (!task || !change || task.contextId !== contextId) return undefined;
    const what =
      task.kind === 'approval'
        ? 'approval'
        : task.kind === 'task'
          ? `task ${task.type ?? ''}`
          : 'notification';
    return `${pad(what, 22)} ${pad(change.event, 9)} ${change.from ? `${change.from} → ` : ''}${change.to}  (${change.actor})`;
  }
  if (subject.startsWith('sessions.')) {
    const session = (payload['session'] ?? payload) as { contextId?: string; agentId?: string };
    if (session.contextId !== contextId) return undefined;
    const transition = payload['transition'] as { from?: string; to?: string; event?: string } | undefined;
    return transition
      ? `${pad(`session ${session.agentId ?? ''}`, 22)} ${pad(transition.event ?? '', 9)} ${transition.from} → ${transition.to}`
      : `${pad(`session ${session.agentId ?? ''}`, 22)} created`;
  }
  return undefined;
}

// ------------------------------------------------------------------ privacy proxy counters

interface ProxyCounters {
  redactions: Record<string, Record<string, number>>;
  chatCalls: number;
}

export async function proxyCounters(proxyUrl: string): Promise<ProxyCounters | undefined> {
  try {
    const res = await fetch(`${proxyUrl.replace(/\/+$/, '')}/metrics`);
    if (!res.ok) return undefined;
    return parseProxyMetrics(await res.text());
  } catch {
    return undefined;
  }
}

export function parseProxyMetrics(text: string): ProxyCounters {
  const redactions: Record<string, Record<string, number>> = {};
  let chatCalls = 0;
  for (const line of text.split('\n')) {
    const redaction = /^orgmesh_privacy_proxy_redactions_total\{([^}]*)\}\s+([\d.e+]+)/.exec(line);
    if (redaction) {
      const labels = Object.fromEntries(
        [...redaction[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
      );
      const type = labels['entity_type'] ?? 'unknown';
      const action = labels['action'] ?? 'unknown';
      (redactions[type] ??= {})[action] = Number(redaction[2]);
      continue;
    }
    const request = /^orgmesh_privacy_proxy_requests_total\{([^}]*)\}\s+([\d.e+]+)/.exec(line);
    // Model calls of both APIs: the reference agents' chat completions and the Claude Code step's Messages.
    if (request && /route="(openai\.chat\.completions|anthropic\.messages)"/.test(request[1]!))
      chatCalls += Number(request[2]);
  }
  return { redactions, chatCalls };
}

function diffRedactions(
  before: ProxyCounters['redactions'],
  after: ProxyCounters['redactions'],
): ProxyCounters['redactions'] {
  const out: ProxyCounters['redactions'] = {};
  for (const [type, actions] of Object.entries(after)) {
    for (const [action, n] of Object.entries(actions)) {
      const delta = n - (before[type]?.[action] ?? 0);
      if (delta > 0) (out[type] ??= {})[action] = delta;
    }
  }
  return out;
}

// ------------------------------------------------------------------ helpers

async function settle(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done().catch(() => false)) return;
    await sleep(100);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
