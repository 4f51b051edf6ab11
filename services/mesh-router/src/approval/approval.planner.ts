import { type ApprovalPerson, type ApprovalRule, type ApprovalStep, type OrgUser } from '@orgmesh/contracts';
import { isDepartmentWithoutHead } from './approval.errors.js';
import type { OrgChartPort } from './org-chart.port.js';

/** Where an approval goes: the rule that applied and its steps, in order. */
export interface ApprovalPlan {
  /** `<profile>#<rule>`, or `request` when the requesting agent named the approver. */
  rule: string;
  steps: ApprovalStep[];
  /** Approver specs that resolved to nobody, and why: skipped, and audited on the task. */
  skipped: Array<{ spec: string; why: string }>;
}

/** The longest reporting line walked (a validated chart has no cycles; this bounds a broken one). */
const MAX_CHAIN = 16;
/** An approval that names a person without a profile rule: one day per step, up the reporting line. */
export const REQUEST_STEP_MS = 24 * 3_600_000;

export function ruleMatches(rule: ApprovalRule, fromRole: string, details: unknown): boolean {
  if (rule.from && !rule.from.includes(fromRole) && !rule.from.includes('*')) return false;
  if (!rule.when) return true;
  const value = fieldOf(details, rule.when.field);
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  const limit = rule.when.value;
  switch (rule.when.op) {
    case '>':
      return value > limit;
    case '>=':
      return value >= limit;
    case '<':
      return value < limit;
    case '<=':
      return value <= limit;
    case '==':
      return value === limit;
  }
}

function fieldOf(details: unknown, path: string): unknown {
  let current = details;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

const toPerson = (user: OrgUser): ApprovalPerson => ({
  userId: user.userId,
  name: user.name,
  role: user.role,
});

/**
 * The route of an approval (ADR 0019). The addressed role's profile rules come first: the first
 * rule matching the requester's role and the details applies, whatever the agent asked. Without one,
 * an `approver` the agent named routes it to that person; without either, undefined (the role's
 * agents decide, as before). Relations are resolved now, against the org chart as it is, and the
 * reporting line above the first person is planned in full, so the console can show the path.
 */
export async function planApproval(
  org: OrgChartPort,
  input: {
    requester: { agentId: string; role: string };
    toRole: string;
    details: unknown;
    approver?: string;
  },
): Promise<ApprovalPlan | undefined> {
  const { profileId, rules } = await org.rulesOf(input.toRole);
  const rule = rules.find((r) => ruleMatches(r, input.requester.role, input.details));
  const spec: ApprovalRule | undefined =
    rule ??
    (input.approver
      ? {
          id: 'request',
          approvers: [input.approver],
          quorum: 1,
          stepDeadlineMs: REQUEST_STEP_MS,
          escalate: 'reporting-line',
          onChainEnd: 'deny',
        }
      : undefined);
  if (!spec) return undefined;

  const skipped: ApprovalPlan['skipped'] = [];
  const people: OrgUser[] = [];
  for (const approver of spec.approvers) {
    let user: OrgUser | null;
    try {
      user = await resolveApprover(org, approver, input.requester.agentId);
    } catch (error) {
      // A department nobody heads is skipped like a person who left (ADR 0019), named in the audit.
      if (!isDepartmentWithoutHead(error)) throw error;
      skipped.push({ spec: approver, why: error.message });
      continue;
    }
    if (!user) skipped.push({ spec: approver, why: 'not in the org chart' });
    else if (!people.some((p) => p.userId === user.userId)) people.push(user);
  }
  const steps: ApprovalStep[] = [];
  if (spec.agentFirstMs)
    steps.push({ kind: 'agent', approvers: [], quorum: 1, deadlineMs: spec.agentFirstMs });
  steps.push({
    kind: 'people',
    approvers: people.map(toPerson),
    // Fewer people than the quorum (some left the org): all who remain must approve.
    quorum: Math.max(1, Math.min(spec.quorum, people.length)),
    deadlineMs: spec.stepDeadlineMs,
  });
  if (spec.escalate === 'reporting-line' && people[0]) {
    const seen = new Set(people.map((p) => p.userId));
    let next = await org.managerOf(people[0].userId);
    while (next && !seen.has(next.userId) && steps.length < MAX_CHAIN) {
      seen.add(next.userId);
      steps.push({ kind: 'people', approvers: [toPerson(next)], quorum: 1, deadlineMs: spec.stepDeadlineMs });
      next = await org.managerOf(next.userId);
    }
  }
  return { rule: rule ? `${profileId}#${rule.id}` : 'request', steps, skipped };
}

function resolveApprover(org: OrgChartPort, spec: string, requester: string): Promise<OrgUser | null> {
  if (spec.startsWith('manager-of:')) {
    const of = spec.slice('manager-of:'.length);
    return org.managerOf(of === 'requester' ? requester : of);
  }
  if (spec.startsWith('head-of:')) return headOf(org, spec.slice('head-of:'.length));
  return org.person(spec.startsWith('user:') ? spec.slice('user:'.length) : spec);
}

/**
 * `head-of:<role>`: the person heading the role. `head-of:<department>` (any other name): the
 * head of that department anywhere in the org chart, its topmost person (the registry's
 * get-department-head, ids only); a department nobody belongs to throws `departmentWithoutHead`.
 */
async function headOf(org: OrgChartPort, name: string): Promise<OrgUser | null> {
  const head = await org.headOf(name);
  if (head && head.role === name) return head;
  return org.headOfDepartment(name);
}

/** Total time the planned steps may take: the approval's deadline must not cut the chain short. */
export function planDurationMs(plan: ApprovalPlan): number {
  return plan.steps.reduce((sum, step) => sum + step.deadlineMs, 0);
}
