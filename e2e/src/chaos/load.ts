import { AppError, type Task } from '@orgmesh/contracts';
import { MeshAgent, OidcTokenSource } from '@orgmesh/agent-sdk';
import { createLogger } from '@orgmesh/telemetry';
import { seedFile } from './cluster.js';

/**
 * The chaos run's load: SDK agents of the engineering, hr, sales and manager roles (never the roles
 * of the reference agents, whose handlers call the model) send tasks, approvals and notifications
 * to each other, half through the SDK (NATS) and half through the gateways' REST API, and handle
 * what they receive. Every handler invocation is recorded: a task handled twice is a duplicate side
 * effect, whatever redelivery or retry caused it.
 */

/** Registry agents first (approvals are addressed to the two managers by agent id, which the registry must know). */
const REGISTRY_ROSTER: ReadonlyArray<readonly [string, string]> = [
  ['engineering-manager-agent', 'manager'],
  ['operations-manager-agent', 'manager'],
  ['backend-agent', 'engineering'],
  ['benefits-agent', 'hr'],
  ['sales-agent', 'sales'],
  ['data-agent', 'engineering'],
  ['hr-agent', 'hr'],
  ['sales-ops-agent', 'sales'],
  ['devops-agent', 'engineering'],
  ['onboarding-agent', 'hr'],
  ['customer-success-agent', 'sales'],
  ['frontend-agent', 'engineering'],
  ['recruiting-agent', 'hr'],
  ['qa-agent', 'engineering'],
  ['security-agent', 'engineering'],
];
const EXTRA_ROLES = ['engineering', 'hr', 'sales'] as const;

/** The first `count` agents of the load: the registry's, then `chaos-<role>-<n>` of the same roles. */
export function loadRoster(count: number): Array<{ clientId: string; role: string }> {
  if (count < 3) throw new Error('--agents must be at least 3 (two managers and a sender)');
  const roster = REGISTRY_ROSTER.slice(0, count).map(([clientId, role]) => ({ clientId, role }));
  for (let n = roster.length; n < count; n++) {
    const role = EXTRA_ROLES[n % EXTRA_ROLES.length] ?? 'engineering';
    roster.push({ clientId: `chaos-${role}-${n}`, role });
  }
  return roster;
}

const NOTIFICATION_PREFIX = 'chaos notification ';

/**
 * The load item a task carries (its idempotency key, in the input, details or message): two tasks
 * with one key are one request applied twice, whatever their ids.
 */
export function itemKey(task: Pick<Task, 'input' | 'details' | 'message'>): string | undefined {
  const fromJson = (value: unknown) =>
    typeof value === 'object' && value !== null && typeof (value as { key?: unknown }).key === 'string'
      ? (value as { key: string }).key
      : undefined;
  return (
    fromJson(task.input) ??
    fromJson(task.details) ??
    (task.message?.startsWith(NOTIFICATION_PREFIX) ? task.message.slice(NOTIFICATION_PREFIX.length) : undefined)
  );
}

export type Kind = 'task' | 'approval' | 'notification';

/** Where a sender of `role` may send each kind (deploy/registry/profiles: its `mesh` grants). */
function target(role: string, kind: Kind, self: string): string {
  if (kind === 'approval')
    return role === 'engineering' || self === 'operations-manager-agent'
      ? 'engineering-manager-agent'
      : 'operations-manager-agent';
  if (role === 'manager') return 'engineering';
  return role;
}

export interface Acknowledged {
  id: string;
  kind: Kind;
  via: 'sdk' | 'rest';
  key: string;
  at: number;
  /** Create calls it took (1: acknowledged at the first try). */
  attempts: number;
  /** Why the earlier attempts failed, in order. */
  failures: string[];
}

export interface LoadOptions {
  natsUrl: string;
  gatewayUrls: readonly string[];
  oidc: { issuer: string; secret: string };
  agents: number;
  runId: string;
  /** The NKey seed file of each bus identity: each SDK agent connects as `agent-<its id>`. */
  seedFiles: Readonly<Record<string, string>>;
  /** How long one create may keep being retried (faults included) before it counts as not acknowledged. */
  createRetryMs?: number;
}

export class ChaosLoad {
  readonly acknowledged = new Map<string, Acknowledged>();
  /** Load item (see itemKey; else the task id) → `<agent id> <task id>` per handler run. */
  readonly handled = new Map<string, string[]>();
  readonly notAcknowledged: Array<{ key: string; kind: Kind; reason: string }> = [];
  readonly refused: Array<{ key: string; kind: Kind; reason: string }> = [];
  /** Handler runs on a redelivery (the first delivery was not acknowledged): the faults at work. */
  redelivered = 0;
  private constructor(
    readonly agents: MeshAgent[],
    private readonly options: LoadOptions,
  ) {}

  static async start(options: LoadOptions): Promise<ChaosLoad> {
    // Disconnects during the NATS restart are expected here; the services' own logs keep them.
    const logger = createLogger({ service: 'chaos-load', level: 'error' });
    const agents: MeshAgent[] = [];
    for (const { clientId } of loadRoster(options.agents)) {
      const tokens = new OidcTokenSource({
        issuer: options.oidc.issuer,
        clientId,
        auth: { method: 'client_secret_basic', secret: options.oidc.secret },
        scope: 'orgmesh:agent',
        logger,
      });
      agents.push(
        await MeshAgent.connect({
          natsUrl: options.natsUrl,
          nkeySeedFile: seedFile(options.seedFiles, `agent-${clientId}`),
          credentials: { tokens },
          agentId: clientId,
          heartbeatIntervalMs: 0,
          logger,
        }),
      );
    }
    const load = new ChaosLoad(agents, options);
    for (const agent of agents) {
      agent
        .onTask(async (task, ctx) => {
          load.record(task, agent.agentId, ctx.deliveryCount);
          return { handledBy: agent.agentId };
        })
        .onApproval(async (task, ctx) => {
          load.record(task, agent.agentId, ctx.deliveryCount);
          return { decision: 'approve', comment: 'chaos run' };
        })
        .onNotification(async (task, ctx) => {
          load.record(task, agent.agentId, ctx.deliveryCount);
        });
      await agent.start();
    }
    return load;
  }

  private record(task: Task, agentId: string, deliveryCount: number): void {
    if (deliveryCount > 1) this.redelivered += 1;
    const item = itemKey(task) ?? task.id;
    const seen = this.handled.get(item) ?? [];
    seen.push(`${agentId} ${task.id}`);
    this.handled.set(item, seen);
  }

  /** Item `i` of the run: its kind, sender and channel follow from `i`, so a rerun drives the same mix. */
  async create(i: number, label = 'load'): Promise<Acknowledged | undefined> {
    const kinds: Kind[] = ['task', 'approval', 'notification'];
    const kind = kinds[i % 3] ?? 'task';
    const agent = this.agents[Math.floor(i / 3) % this.agents.length];
    if (!agent) throw new Error('no agents');
    const via = i % 2 === 0 ? 'sdk' : 'rest';
    const key = `${this.options.runId}-${label}-${i}`;
    const to = target(agent.role, kind, agent.agentId);
    const deadline = Date.now() + (this.options.createRetryMs ?? 90_000);
    let wait = 250;
    const failures: string[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        const task =
          via === 'sdk'
            ? await this.createSdk(agent, kind, to, key, i)
            : await this.createRest(agent, kind, to, key, i, attempt);
        const ack: Acknowledged = { id: task.id, kind, via, key, at: Date.now(), attempts: attempt, failures };
        this.acknowledged.set(task.id, ack);
        return ack;
      } catch (error) {
        const retryable = error instanceof AppError ? error.retryable : true;
        const reason = error instanceof Error ? error.message : String(error);
        failures.push(reason.slice(0, 200));
        if (!retryable) {
          this.refused.push({ key, kind, reason });
          return undefined;
        }
        if (Date.now() > deadline) {
          this.notAcknowledged.push({ key, kind, reason });
          return undefined;
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, 4_000);
      }
    }
  }

  private createSdk(agent: MeshAgent, kind: Kind, to: string, key: string, i: number): Promise<Task> {
    const options = { idempotencyKey: key };
    if (kind === 'task') return agent.sendTask(to, 'chaos.work', { key }, options);
    if (kind === 'approval') return agent.requestApproval(to, `chaos approval ${i}`, { key }, options);
    return agent.notify(to, `${NOTIFICATION_PREFIX}${key}`, options);
  }

  private async createRest(agent: MeshAgent, kind: Kind, to: string, key: string, i: number, attempt: number): Promise<Task> {
    // Alternate gateways per item, and move to the other one on a retry, as a load balancer would.
    const gateway = this.options.gatewayUrls[(Math.floor(i / 2) + attempt - 1) % this.options.gatewayUrls.length];
    const [path, body] =
      kind === 'task'
        ? ['/v1/tasks', { to, type: 'chaos.work', input: { key } }]
        : kind === 'approval'
          ? ['/v1/approvals', { to, subject: `chaos approval ${i}`, details: { key } }]
          : ['/v1/notifications', { to, message: `${NOTIFICATION_PREFIX}${key}` }];
    const res = await fetch(`${gateway}${path}`, {
      method: 'POST',
      headers: {
        authorization: await agent.authorization(),
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (res.status === 202 || res.status === 200 || res.status === 201) return JSON.parse(text) as Task;
    // 5xx, 429 and 408 are passing; any other refusal is a defect of the load itself.
    const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
    throw new AppError(retryable ? 'unavailable' : 'validation_failed', `${path} answered ${res.status}: ${text.slice(0, 300)}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.agents.map((agent) => agent.stop()));
  }
}
