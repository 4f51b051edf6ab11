import { describe, expect, it } from '@jest/globals';
import { InboxDelivery, type OrgUser } from '@orgmesh/contracts';
import { budgetWarningFixture } from '@orgmesh/testing';
import type { IdempotencyClaim, TaskCreate } from '../task/task.repository.types.js';
import {
  BUDGET_WARNING_OPERATION,
  BudgetWarningNotifier,
  type ManagerLookup,
} from './budget-warning.notifier.js';

const person = (userId: string, role: string, reportsToId: string | null): OrgUser => ({
  userId,
  role,
  reportsToId,
  name: `Person ${userId}`,
  email: `${userId}@example.test`,
  department: role,
});

/** The registry's get-manager over a fixed chart: an agent or a role id answers the head of that role. */
class Chart implements ManagerLookup {
  readonly asked: string[] = [];
  constructor(
    private readonly people: OrgUser[],
    private readonly agents: Record<string, string>,
  ) {}
  private head(id: string): OrgUser | undefined {
    const role = this.agents[id] ?? id;
    return this.people.find((p) => p.userId === id) ?? this.people.find((p) => p.role === role);
  }
  async headOf(id: string) {
    this.asked.push(id);
    return this.head(id) ?? null;
  }
  async managerOf(id: string) {
    const head = this.head(id);
    return this.people.find((p) => p.userId === head?.reportsToId) ?? null;
  }
}

/** The task store's create as far as the notifier uses it: the first write of a claim key wins. */
class Store {
  readonly writes: Array<{ write: TaskCreate; claim?: IdempotencyClaim }> = [];
  private readonly claimed = new Map<string, TaskCreate>();
  async create(write: TaskCreate, claim?: IdempotencyClaim) {
    const key = `${claim?.operation}|${claim?.actor}|${claim?.key}`;
    const first = this.claimed.get(key);
    if (first) return { task: first.task, created: false };
    this.claimed.set(key, write);
    this.writes.push({ write, ...(claim ? { claim } : {}) });
    return { task: write.task, created: true };
  }
}

const chart = () =>
  new Chart([person('u1', 'executive', null), person('u2', 'manager', 'u1'), person('u3', 'finance', 'u2')], {
    'finance-agent': 'finance',
  });
const warning = budgetWarningFixture();
const clock = { now: () => new Date('2026-12-06T10:00:01.000Z') };

describe('BudgetWarningNotifier', () => {
  it('notifies the role of the manager above the agent’s line once per warning id, from system', async () => {
    const store = new Store();
    const notifier = new BudgetWarningNotifier(store, chart(), { deadlineMs: 3_600_000 }, clock);
    const first = await notifier.notify(warning);
    expect(first.outcome).toBe('notified');
    expect(first.task).toMatchObject({
      kind: 'notification',
      from: { agentId: 'system', role: 'system' },
      to: { role: 'manager', agentId: null },
      deadline: '2026-12-06T11:00:01.000Z',
    });
    const delivery = store.writes[0]!.write.events.find((e) => e.subject.endsWith('mesh.v1.inbox.manager'));
    expect(delivery).toBeDefined();
    expect(InboxDelivery.schema.parse(JSON.parse(JSON.stringify(first.task))).id).toBe(first.task!.id);
    expect(store.writes[0]!.claim).toMatchObject({
      operation: BUDGET_WARNING_OPERATION,
      actor: 'system',
      key: 'warn-1',
    });
    // The same warning again (a redelivery or another message id): the first notification, nothing new.
    const again = await notifier.notify({ ...warning });
    expect(again).toEqual({ outcome: 'duplicate', task: first.task });
    expect(store.writes).toHaveLength(1);
  });

  it('asks by the role when the chart does not know the agent, and never with an id the chart refuses', async () => {
    const lookup = chart();
    const store = new Store();
    const notifier = new BudgetWarningNotifier(store, lookup, { deadlineMs: 60_000 }, clock);
    await expect(
      notifier.notify({ ...warning, eventId: 'w2', agentId: 'gateway-caller' }),
    ).resolves.toMatchObject({
      outcome: 'notified',
    });
    await expect(
      notifier.notify({ ...warning, eventId: 'w3', agentId: 'x'.repeat(150) }),
    ).resolves.toMatchObject({
      outcome: 'notified',
    });
    expect(lookup.asked).toEqual(['gateway-caller', 'finance', 'finance']);
  });

  it('sends nothing when nobody is above the line', async () => {
    const store = new Store();
    const notifier = new BudgetWarningNotifier(store, chart(), { deadlineMs: 60_000 }, clock);
    const { agentId: _agentId, ...roleWarning } = warning;
    await expect(notifier.notify({ ...roleWarning, per: 'role', role: 'executive' })).resolves.toEqual({
      outcome: 'no_manager',
    });
    await expect(notifier.notify({ ...roleWarning, per: 'role', role: 'unknown-role' })).resolves.toEqual({
      outcome: 'no_manager',
    });
    expect(store.writes).toHaveLength(0);
  });
});
